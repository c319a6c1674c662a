/* Public entry points of the configuration: load from a file or a string, the embedded defaults,
 * the command line's -p, and release. After the parser has read every line, this file applies
 * Mosquitto 2's whole-file rules: local-only mode when no listener is configured, allow_anonymous
 * false unless set, per-listener values falling back to the global ones. It does not parse lines
 * (config_parse.c) nor know individual options (config_table.c). */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "config_listener.h"
#include "config_parse.h"
#include "err.h"
#include "mem.h"

#define CSTR(f) offsetof(struct config, f)

static const size_t string_fields[] = {
    CSTR(password_file),
    CSTR(acl_file),
    CSTR(psk_file),
    CSTR(auto_id_prefix),
    CSTR(persistence_location),
    CSTR(persistence_file),
    CSTR(log_file),
    CSTR(log_timestamp_format),
    CSTR(user),
    CSTR(pid_file),
    CSTR(clientid_prefixes),
    CSTR(http_api_token),
    CSTR(scram_file),
    CSTR(jwt_key_file),
    CSTR(jwt_jwks_file),
    CSTR(jwt_issuer),
    CSTR(jwt_audience),
    CSTR(jwt_username_claim),
    CSTR(http_admin_users),
};

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < sizeof string_fields / sizeof string_fields[0]; i++)
        mem_free(*(char **)((char *)c + string_fields[i]));
    struct listener_conf *l = c->listeners;
    while (l) {
        struct listener_conf *next = l->next;
        config_listener_free(l);
        l = next;
    }
    mem_free(c);
}

void config_diag_free(struct config_diag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->error_count; i++)
        mem_free(d->errors[i]);
    for (size_t i = 0; i < d->warning_count; i++)
        mem_free(d->warnings[i]);
    mem_free(d->errors);
    mem_free(d->warnings);
    memset(d, 0, sizeof *d);
}

static int set_address(struct listener_conf *l, const char *addr, int domain)
{
    char *s = mem_strdup(addr);
    if (!s)
        return TERN_ENOMEM;
    mem_free(l->bind_address);
    l->bind_address = s;
    l->socket_domain = domain;
    l->is_default = false;
    return 0;
}

/* Mosquitto 2 local-only mode: no listener configured means 127.0.0.1 and ::1 on 1883 only.
 * Listener options given outside any listener section apply to both. */
static int make_local(struct config_parser *p)
{
    struct config *c = p->cfg;
    struct listener_conf *v4 = p->default_listener;
    if (!v4) {
        if (!(v4 = config_listener_new()))
            return TERN_ENOMEM;
        config_listener_append(c, v4);
    }
    if (v4->allow_anonymous == -1 && c->allow_anonymous == -1)
        v4->allow_anonymous = 1;
    if (set_address(v4, "127.0.0.1", AF_INET) != 0)
        return TERN_ENOMEM;
    struct listener_conf *v6 = config_listener_dup(v4);
    if (!v6)
        return TERN_ENOMEM;
    config_listener_append(c, v6);
    return set_address(v6, "::1", AF_INET6);
}

static void resolve(struct config *c)
{
    if (c->allow_anonymous == -1)
        c->allow_anonymous = c->local_only ? 1 : 0;
    for (struct listener_conf *l = c->listeners; l; l = l->next) {
        if (l->allow_anonymous == -1)
            l->allow_anonymous = c->allow_anonymous;
        if (l->max_qos == -1)
            l->max_qos = c->max_qos;
        if (l->max_topic_alias == -1)
            l->max_topic_alias = c->max_topic_alias;
        if (l->allow_zero_length_clientid == -1)
            l->allow_zero_length_clientid = c->allow_zero_length_clientid;
    }
}

static int finalize(struct config_parser *p)
{
    struct config *c = p->cfg;
    c->local_only = !p->saw_listener;
    if (p->default_listener && !p->default_explicit && !c->local_only) {
        /* Options before the first `listener` configured a default listener that Mosquitto 2
         * would start on port 1883 of every address next to the configured ones; we do not
         * open that port silently, we say so. */
        config_listener_remove(c, p->default_listener);
        config_listener_free(p->default_listener);
        p->default_listener = NULL;
        int rc = config_parse_add_warning(p, p->default_orphan_warning);
        p->default_orphan_warning = NULL;
        if (rc)
            return rc;
    }
    if (c->local_only) {
        int rc = make_local(p);
        if (rc)
            return rc;
    }
    resolve(c);
    return 0;
}

static int finish(struct config_parser *p, int rc, struct config **out, struct config_diag *diag)
{
    if (rc == 0 && p->diag.error_count)
        rc = TERN_ECONFIG;
    if (rc == 0)
        rc = finalize(p);
    if (rc == 0) {
        *out = p->cfg;
        p->cfg = NULL;
    }
    if (diag) {
        *diag = p->diag;
        memset(&p->diag, 0, sizeof p->diag);
    }
    config_parse_deinit(p);
    return rc;
}

int config_load_file(const char *path, struct config **out, struct config_diag *diag)
{
    struct config_parser p;
    *out = NULL;
    if (diag)
        memset(diag, 0, sizeof *diag);
    int rc = config_parse_init(&p);
    if (rc == 0)
        rc = config_parse_file(&p, path, NULL);
    return finish(&p, rc, out, diag);
}

int config_load_string(const char *text, const char *name, struct config **out,
                       struct config_diag *diag)
{
    struct config_parser p;
    *out = NULL;
    if (diag)
        memset(diag, 0, sizeof *diag);
    int rc = config_parse_init(&p);
    if (rc == 0)
        rc = config_parse_text(&p, text, strlen(text), name);
    return finish(&p, rc, out, diag);
}

int config_defaults(struct config **out)
{
    struct config_diag d;
    int rc = config_load_string("", "defaults", out, &d);
    config_diag_free(&d);
    return rc;
}

static int add_local_pair(struct config *c, uint16_t port)
{
    struct listener_conf *a = config_listener_dup(c->listeners);
    struct listener_conf *b = config_listener_dup(c->listeners->next);
    if (!a || !b) {
        config_listener_free(a);
        config_listener_free(b);
        return TERN_ENOMEM;
    }
    a->port = port;
    b->port = port;
    config_listener_append(c, a);
    config_listener_append(c, b);
    return 0;
}

int config_set_cli_port(struct config *c, uint16_t port)
{
    if (!c || port == 0)
        return TERN_EINVAL;
    if (c->local_only && c->cli_port_count == 0) {
        for (struct listener_conf *l = c->listeners; l; l = l->next)
            l->port = port;
    } else if (c->local_only && c->listener_count >= 2) {
        int rc = add_local_pair(c, port);
        if (rc)
            return rc;
    } else {
        /* Mosquitto: "-p" opens a socket on all addresses in addition to the file's. */
        struct listener_conf *l = config_listener_new();
        if (!l)
            return TERN_ENOMEM;
        l->port = port;
        l->allow_anonymous = c->allow_anonymous;
        l->max_qos = c->max_qos;
        l->max_topic_alias = c->max_topic_alias;
        l->allow_zero_length_clientid = c->allow_zero_length_clientid;
        config_listener_append(c, l);
    }
    c->cli_port_count++;
    return 0;
}
