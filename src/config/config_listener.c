/* Listener records of the configuration: defaults, deep copy and release. The string fields are
 * listed once (string_fields) so copy and free cannot drift apart when a field is added. It does
 * not validate anything: the parser does. */
#include "config_listener.h"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "mem.h"

#define LSTR(f) offsetof(struct listener_conf, f)

static const size_t string_fields[] = {
    LSTR(bind_address),
    LSTR(unix_path),
    LSTR(mount_point),
    LSTR(bind_interface),
    LSTR(http_dir),
    LSTR(http_trusted_proxy),
    LSTR(websockets_path),
    LSTR(websockets_origin),
    LSTR(cafile),
    LSTR(capath),
    LSTR(certfile),
    LSTR(keyfile),
    LSTR(ciphers),
    LSTR(ciphers_tls13),
    LSTR(tls_version),
    LSTR(crlfile),
    LSTR(dhparamfile),
    LSTR(psk_hint),
    LSTR(tls_engine),
    LSTR(tls_engine_kpass_sha1),
    LSTR(tls_keyform),
    LSTR(password_file),
    LSTR(acl_file),
    LSTR(psk_file),
    LSTR(auto_id_prefix),
};

#define N_STRING_FIELDS (sizeof string_fields / sizeof string_fields[0])

static char **field(struct listener_conf *l, size_t i)
{
    return (char **)((char *)l + string_fields[i]);
}

struct listener_conf *config_listener_new(void)
{
    struct listener_conf *l = mem_calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->port = 1883;
    l->socket_domain = AF_UNSPEC;
    l->protocol = LISTENER_MQTT;
    l->allow_anonymous = -1;
    l->max_connections = -1;
    l->max_qos = -1;
    l->max_topic_alias = -1;
    l->max_topic_alias_broker = -1;
    l->allow_zero_length_clientid = -1;
    l->http_metrics_auth = true;
    return l;
}

struct listener_conf *config_listener_dup(const struct listener_conf *src)
{
    struct listener_conf *l = mem_alloc(sizeof *l);
    if (!l)
        return NULL;
    memcpy(l, src, sizeof *l);
    l->next = NULL;
    for (size_t i = 0; i < N_STRING_FIELDS; i++)
        *field(l, i) = NULL;
    for (size_t i = 0; i < N_STRING_FIELDS; i++) {
        const char *s = *(char *const *)((const char *)src + string_fields[i]);
        if (s && !(*field(l, i) = mem_strdup(s)))
            goto fail;
    }
    return l;
fail:
    config_listener_free(l);
    return NULL;
}

void config_listener_free(struct listener_conf *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < N_STRING_FIELDS; i++)
        mem_free(*field(l, i));
    mem_free(l);
}

void config_listener_append(struct config *c, struct listener_conf *l)
{
    struct listener_conf **pp = &c->listeners;
    while (*pp)
        pp = &(*pp)->next;
    l->next = NULL;
    *pp = l;
    c->listener_count++;
}

void config_listener_remove(struct config *c, struct listener_conf *l)
{
    for (struct listener_conf **pp = &c->listeners; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            l->next = NULL;
            c->listener_count--;
            return;
        }
    }
}
