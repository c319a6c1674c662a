/* Parser engine for mosquitto.conf syntax: one `key value...` per line, `#` comment lines, blank
 * lines, surrounding whitespace ignored. Each line is looked up in the option table, its argument
 * count and scope are checked, then its handler stores the value. A bad line is recorded and the
 * parse goes on so that every bad line is reported; only out-of-memory stops it early. It does
 * not know individual options (config_table.c) nor the final resolution of defaults (config.c). */
#include "config_parse.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_listener.h"
#include "config_table.h"
#include "err.h"
#include "log.h"
#include "mem.h"

/* Messages longer than MSG_MAX are cut; they name a file and an option, never data.
 * The NOLINTs below silence clang-analyzer 14's valist checker, which loses track of va_start
 * when it inlines a variadic function into a caller in the same file (false positive). */
#define MSG_MAX 8192

__attribute__((format(printf, 1, 2))) static char *msgf(const char *f, ...)
{
    char buf[MSG_MAX];
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, sizeof buf, f, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    va_end(ap);
    if (n < 0)
        return NULL;
    return mem_strndup(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int push(char ***arr, size_t *n, char *msg)
{
    if (!msg)
        return TERN_ENOMEM;
    char **grown = mem_realloc(*arr, (*n + 1) * sizeof *grown);
    if (!grown) {
        mem_free(msg);
        return TERN_ENOMEM;
    }
    grown[(*n)++] = msg;
    *arr = grown;
    return 0;
}

/* "FILE:LINE: " or "FILE: " when there is no line. */
static char *located(const struct config_line *l, const char *msg, bool with_key)
{
    if (l->lineno == 0)
        return msgf("%s: %s", l->file, msg);
    if (with_key && l->key.len)
        return msgf("%s:%u: %s ('%.*s')", l->file, l->lineno, msg, (int)l->key.len, l->key.ptr);
    return msgf("%s:%u: %s", l->file, l->lineno, msg);
}

int config_parse_error(struct config_parser *p, const struct config_line *l, const char *fmt_, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt_);
    if (vsnprintf(msg, sizeof msg, fmt_, ap) < 0) /* NOLINT(clang-analyzer-valist.Uninitialized) */
        msg[0] = '\0';
    va_end(ap);
    int rc = push(&p->diag.errors, &p->diag.error_count, located(l, msg, true));
    return rc ? rc : TERN_ECONFIG;
}

int config_parse_warn(struct config_parser *p, const struct config_line *l, const char *fmt_, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt_);
    if (vsnprintf(msg, sizeof msg, fmt_, ap) < 0) /* NOLINT(clang-analyzer-valist.Uninitialized) */
        msg[0] = '\0';
    va_end(ap);
    return push(&p->diag.warnings, &p->diag.warning_count, located(l, msg, false));
}

int config_parse_add_warning(struct config_parser *p, char *msg)
{
    return push(&p->diag.warnings, &p->diag.warning_count, msg);
}

bool config_tok_eq(struct config_tok t, const char *s)
{
    return strlen(s) == t.len && memcmp(t.ptr, s, t.len) == 0;
}

bool config_tok_int(struct config_tok t, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (t.len && (t.ptr[0] == '-' || t.ptr[0] == '+')) {
        neg = t.ptr[0] == '-';
        i = 1;
    }
    if (i == t.len)
        return false;
    uint64_t v = 0;
    for (; i < t.len; i++) {
        if (t.ptr[i] < '0' || t.ptr[i] > '9')
            return false;
        unsigned d = (unsigned)(t.ptr[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

char *config_tok_dup(struct config_tok t)
{
    return mem_strndup(t.ptr, t.len);
}

int config_parse_init(struct config_parser *p)
{
    memset(p, 0, sizeof *p);
    struct config *c = mem_calloc(1, sizeof *c);
    if (!c)
        return TERN_ENOMEM;
    p->cfg = c;
    c->local_only = true;
    c->allow_anonymous = -1;
    c->max_inflight_messages = 20;
    c->max_queued_messages = 1000;
    c->max_topic_alias = 10;
    c->max_keepalive = 65535;
    c->max_qos = 2;
    c->sys_interval = 10;
    c->worker_busy_poll_us = 30;
    c->persistent_client_expiration_s = -1;
    c->allow_zero_length_clientid = true;
    c->retain_available = true;
    c->autosave_interval = 1800;
    c->log_dest = LOG_DEST_STDERR;
    c->log_type = TLOG_ERR | TLOG_WARN | TLOG_NOTICE | TLOG_INFO;
    c->log_timestamp = true;
    c->log_facility = -1;
    c->global_max_clients = -1;
    c->global_max_connections = -1;
    c->connection_messages = true;
    c->allow_duplicate_messages = true;
    c->auto_id_prefix = mem_strdup("auto-");
    /* Not Mosquitto's "mosquitto.db": its snapshot format is not ours, and a file of that name
     * left by Mosquitto would be set aside as unreadable. */
    c->persistence_file = mem_strdup("tern.db");
    c->persistence_fsync_interval_ms = 1000;
    c->user = mem_strdup("mosquitto");
    if (!c->auto_id_prefix || !c->persistence_file || !c->user)
        return TERN_ENOMEM;
    return 0;
}

void config_parse_deinit(struct config_parser *p)
{
    config_free(p->cfg);
    p->cfg = NULL;
    config_diag_free(&p->diag);
    mem_free(p->default_orphan_warning);
    p->default_orphan_warning = NULL;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Splits one physical line; false for blank and comment lines. */
static bool split_line(const char *s, size_t n, struct config_line *l)
{
    while (n && is_space(*s)) {
        s++;
        n--;
    }
    while (n && is_space(s[n - 1]))
        n--;
    if (n == 0 || s[0] == '#')
        return false;
    size_t i = 0;
    while (i < n && !is_space(s[i]))
        i++;
    l->key = (struct config_tok){s, i};
    while (i < n && is_space(s[i]))
        i++;
    l->rest = (struct config_tok){s + i, n - i};
    l->argc = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && !is_space(s[i]))
            i++;
        if (l->argc < CONFIG_MAX_ARGS)
            l->args[l->argc] = (struct config_tok){s + start, i - start};
        l->argc++;
        while (i < n && is_space(s[i]))
            i++;
    }
    return true;
}

/* Mosquitto tolerates a trailing "# comment" after the values of options that do not take the
 * rest of the line; so do we: a later argument starting with '#' ends the arguments. */
static size_t effective_argc(const struct config_option *o, const struct config_line *l)
{
    if (o->flags & OF_REST)
        return l->argc;
    size_t first = o->min_args ? o->min_args : 1;
    for (size_t i = first; i < l->argc && i < CONFIG_MAX_ARGS; i++)
        if (l->args[i].ptr[0] == '#')
            return i;
    return l->argc;
}

int config_parse_default_listener(struct config_parser *p, const struct config_line *l)
{
    if (!p->default_listener) {
        struct listener_conf *d = config_listener_new();
        if (!d)
            return TERN_ENOMEM;
        d->is_default = true;
        config_listener_append(p->cfg, d);
        p->default_listener = d;
        p->default_orphan_warning =
            msgf("%s:%u: option '%.*s' comes before any 'listener' line and is ignored: the "
                 "default listener it applies to is only started by 'port' or 'bind_address'",
                 l->file, l->lineno, (int)l->key.len, l->key.ptr);
        if (!p->default_orphan_warning)
            return TERN_ENOMEM;
    }
    p->fs.cur_listener = p->default_listener;
    return 0;
}

static struct config_dst dst_in(void *obj, enum config_field type, size_t off)
{
    struct config_dst d = {NULL, FT_NONE};
    if (obj && type != FT_NONE) {
        d.ptr = (char *)obj + off;
        d.type = type;
    }
    return d;
}

static int resolve_scope(struct config_parser *p, const struct config_option *o,
                         const struct config_line *l, struct config_dst *dst)
{
    struct listener_conf *cur = p->fs.cur_listener;
    int rc;
    switch (o->scope) {
    case SC_GLOBAL:
        *dst = dst_in(p->cfg, o->type, o->off);
        return 0;
    case SC_LISTENER:
        if (!cur && (rc = config_parse_default_listener(p, l)) != 0)
            return rc;
        *dst = dst_in(p->fs.cur_listener, o->ltype, o->loff);
        return 0;
    case SC_LISTENER_ONLY:
        if (!cur)
            return config_parse_error(p, l, "option is only valid after a 'listener' line");
        *dst = dst_in(cur, o->ltype, o->loff);
        return 0;
    case SC_SECURITY:
        if (!p->cfg->per_listener_settings) {
            *dst = dst_in(p->cfg, o->type, o->off);
            return 0;
        }
        if (!cur)
            return config_parse_error(p, l,
                                      "option must follow a 'listener' line when "
                                      "per_listener_settings is true");
        *dst = dst_in(cur, o->ltype, o->loff);
        return 0;
    case SC_HYBRID:
        *dst = cur ? dst_in(cur, o->ltype, o->loff) : dst_in(p->cfg, o->type, o->off);
        return 0;
    case SC_BRIDGE:
        *dst = dst_in(NULL, FT_NONE, 0);
        if (!p->fs.in_bridge)
            return config_parse_error(p, l,
                                      "option is only valid in a bridge section "
                                      "(after 'connection')");
        return 0;
    case SC_PLUGIN:
        *dst = dst_in(NULL, FT_NONE, 0);
        if (!p->fs.in_plugin)
            return config_parse_error(p, l,
                                      "option is only valid after 'plugin' or "
                                      "'auth_plugin'");
        return 0;
    }
    return config_parse_error(p, l, "internal error: bad option scope");
}

static int dispatch(struct config_parser *p, const struct config_line *line)
{
    struct config_line copy = *line;
    const struct config_line *l = &copy;
    const struct config_option *o = config_table_find(l->key.ptr, l->key.len);
    if (!o)
        return config_parse_error(p, l, "unknown option");
    size_t argc = effective_argc(o, l);
    copy.argc = argc; /* handlers see the arguments without a trailing comment */
    if (argc < o->min_args)
        return config_parse_error(p, l, "missing argument");
    if (!(o->flags & OF_REST) && argc > o->max_args) {
        struct config_tok x = l->args[o->max_args < CONFIG_MAX_ARGS ? o->max_args : 0];
        return config_parse_error(p, l, "extra argument '%.*s'", (int)x.len, x.ptr);
    }
    struct config_dst dst;
    int rc = resolve_scope(p, o, l, &dst);
    if (rc)
        return rc;
    if ((rc = o->fn(p, o, l, dst)) != 0)
        return rc;
    if (o->flags & OF_SECURITY)
        p->security_seen = true;
    if (o->flags & OF_UNSUPPORTED)
        return config_parse_warn(p, l, "option '%.*s' is not supported yet and is ignored",
                                 (int)l->key.len, l->key.ptr);
    if (o->flags & OF_OBSOLETE)
        return config_parse_warn(p, l, "option '%.*s' is obsolete and is ignored", (int)l->key.len,
                                 l->key.ptr);
    return 0;
}

int config_parse_text(struct config_parser *p, const char *text, size_t len, const char *file)
{
    size_t pos = 0;
    unsigned lineno = 0;
    while (pos < len) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        struct config_line l = {.file = file, .lineno = lineno};
        if (!split_line(s, n, &l))
            continue;
        if (dispatch(p, &l) == TERN_ENOMEM)
            return TERN_ENOMEM;
    }
    return 0;
}

static int read_all(FILE *f, char **out, size_t *out_len, int *err_no)
{
    size_t cap = 4096;
    size_t len = 0;
    char *buf = mem_alloc(cap);
    if (!buf)
        return TERN_ENOMEM;
    for (;;) {
        if (len == cap) {
            char *grown = mem_realloc(buf, cap * 2);
            if (!grown) {
                mem_free(buf);
                return TERN_ENOMEM;
            }
            buf = grown;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        *err_no = errno;
        mem_free(buf);
        return TERN_EIO;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

/* Records a file-level error; returns 0 so the caller goes on, or TERN_ENOMEM. */
static int file_error(struct config_parser *p, const struct config_line *where, const char *path,
                      int err_no)
{
    int rc = config_parse_error(p, where, "cannot read '%s': %s", path,
                                err_no ? strerror(err_no) : "I/O error");
    return rc == TERN_ENOMEM ? rc : 0;
}

int config_parse_file(struct config_parser *p, const char *path, const struct config_line *from)
{
    struct config_line top = {.file = path};
    const struct config_line *where = from ? from : &top;
    FILE *f = fopen(path, "rb");
    if (!f)
        return file_error(p, where, path, errno);
    char *text = NULL;
    size_t len = 0;
    int err_no = 0;
    int rc = read_all(f, &text, &len, &err_no);
    (void)fclose(f);
    if (rc == TERN_ENOMEM)
        return rc;
    if (rc)
        return file_error(p, where, path, err_no);
    if (memchr(text, '\0', len)) {
        mem_free(text);
        rc = config_parse_error(p, &top, "file contains a NUL byte");
        return rc == TERN_ENOMEM ? rc : 0;
    }
    rc = config_parse_text(p, text, len, path);
    mem_free(text);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mem_free(names[i]);
    mem_free(names);
}

/* The *.conf file names of dir (not sorted). 0, TERN_EIO (errno in *err_no) or TERN_ENOMEM. */
static int list_conf(const char *dir, char ***out, size_t *out_n, int *err_no)
{
    DIR *d = opendir(dir);
    if (!d) {
        *err_no = errno;
        return TERN_EIO;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
            continue;
        char **grown = mem_realloc(names, (n + 1) * sizeof *grown);
        if (!grown)
            goto fail;
        names = grown;
        if (!(names[n] = mem_strdup(e->d_name)))
            goto fail;
        n++;
    }
    closedir(d);
    *out = names;
    *out_n = n;
    return 0;
fail:
    closedir(d);
    free_names(names, n);
    return TERN_ENOMEM;
}

static int include_one(struct config_parser *p, const char *dir, const char *name,
                       const struct config_line *l)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = mem_alloc(len);
    if (!path)
        return TERN_ENOMEM;
    (void)snprintf(path, len, "%s/%s", dir, name);
    struct config_file_state saved = p->fs;
    p->fs = (struct config_file_state){.depth = saved.depth + 1};
    int rc = config_parse_file(p, path, l);
    p->fs = saved;
    mem_free(path);
    return rc;
}

int config_parse_include_dir(struct config_parser *p, const struct config_line *l)
{
    if (p->fs.depth > 0)
        return config_parse_error(p, l, "option is only valid in the main configuration file");
    char *dir = config_tok_dup(l->rest);
    if (!dir)
        return TERN_ENOMEM;
    char **names = NULL;
    size_t n = 0;
    int err_no = 0;
    int rc = list_conf(dir, &names, &n, &err_no);
    if (rc == TERN_EIO)
        rc = config_parse_error(p, l, "cannot read directory '%s': %s", dir, strerror(err_no));
    if (rc)
        goto out;
    /* Alphabetical order, as Mosquitto does. */
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = include_one(p, dir, names[i], l);
    free_names(names, n);
out:
    mem_free(dir);
    return rc;
}
