/* Store test fixture: temp dir, log/notify recorder, messages, load recorder. */
#include "store_fixture.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "mem.h"
#include "msg.h"

static void on_log(void *ctx, int err, const char *message)
{
    struct fx *f = ctx;
    (void)err;
    pthread_mutex_lock(&f->mu);
    f->n_errors++;
    snprintf(f->last_error, sizeof f->last_error, "%s", message);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void on_notify(void *ctx)
{
    struct fx *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->n_notify++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tern-store-XXXXXX");
    if (!mkdtemp(f->dir))
        abort();
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
}

void fx_deinit(struct fx *f)
{
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
}

struct store *fx_open(struct fx *f, enum store_fsync mode, uint32_t interval_ms)
{
    return fx_open_maint(f, mode, interval_ms, 0);
}

struct store *fx_open_maint(struct fx *f, enum store_fsync mode, uint32_t interval_ms,
                            uint32_t maint_ms)
{
    struct store_opts o = {f->path, mode, interval_ms, 0, on_log, f, on_notify, f, maint_ms};
    char err[256] = "";
    struct store *s = store_open(&o, err, sizeof err);
    if (!s)
        fprintf(stderr, "store_open: %s\n", err);
    return s;
}

static bool wait_count(struct fx *f, const unsigned *counter, unsigned n, unsigned timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000u;
    dl.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->mu);
    while (*counter < n && pthread_cond_timedwait(&f->cv, &f->mu, &dl) == 0)
        ;
    bool ok = *counter >= n;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

bool fx_wait_errors(struct fx *f, unsigned n, unsigned timeout_ms)
{
    return wait_count(f, &f->n_errors, n, timeout_ms);
}

bool fx_wait_notify(struct fx *f, unsigned n, unsigned timeout_ms)
{
    return wait_count(f, &f->n_notify, n, timeout_ms);
}

unsigned fx_errors(struct fx *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned n = f->n_errors;
    pthread_mutex_unlock(&f->mu);
    return n;
}

unsigned fx_notifies(struct fx *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned n = f->n_notify;
    pthread_mutex_unlock(&f->mu);
    return n;
}

struct msg *fx_msg(const char *topic, const char *payload, uint8_t qos, uint32_t expiry_s,
                   bool with_props, uint64_t now_mono_ms)
{
    static const struct mqtt_user_prop users[2] = {
        {{(const uint8_t *)"k1", 2}, {(const uint8_t *)"v1", 2}},
        {{(const uint8_t *)"k2", 2}, {(const uint8_t *)"", 0}},
    };
    struct mqtt_props p;
    memset(&p, 0, sizeof p);
    if (expiry_s) {
        p.present |= MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
        p.message_expiry = expiry_s;
    }
    if (with_props) {
        p.present |=
            MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
            MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) | MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA) |
            MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) | MQTT_PROP_BIT(MQTT_PROP_USER_PROPERTY);
        p.payload_format = 1;
        p.content_type = bytes_str("text/plain");
        p.correlation_data = bytes_of("\x00\x01\x02", 3);
        p.response_topic = bytes_str("reply/here");
        p.user = users;
        p.user_count = 2;
    }
    struct msg_init in = {
        bytes_str(topic), bytes_str(payload), p.present ? &p : NULL, qos, false, 7, now_mono_ms};
    return msg_new(&in);
}

static void say(struct fx_rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct fx_rec *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (r->len + (size_t)n + 1 > r->cap) {
        size_t cap = (r->cap + (size_t)n + 1) * 2;
        char *t = realloc(r->text, cap);
        if (!t)
            abort();
        r->text = t;
        r->cap = cap;
    }
    memcpy(r->text + r->len, line, (size_t)n + 1);
    r->len += (size_t)n;
}

/* "topic|payload|q1r0|p<hex props>" */
static void msg_text(const struct msg *m, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "%s|%.*s|q%ur%d|p", m->topic, (int)m->payload_len,
                                (const char *)m->payload, m->qos, m->retain);
    for (uint32_t i = 0; i < m->fwd_props_len && n + 3 < outlen; i++)
        n += (size_t)snprintf(out + n, outlen - n, "%02x", m->fwd_props[i]);
}

static void ids_text(const struct store_delivery *d, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "[");
    for (uint16_t i = 0; i < d->n_sub_ids && n + 12 < outlen; i++)
        n += (size_t)snprintf(out + n, outlen - n, "%s%u", i ? "," : "", d->sub_ids[i]);
    snprintf(out + n, outlen - n, "]");
}

static int rec_session(void *ctx, const struct store_session_rec *s)
{
    struct fx_rec *r = ctx;
    char w[512] = "-";
    if (s->will)
        msg_text(s->will, w, sizeof w);
    if (r->n_sessions < 16)
        r->seen[r->n_sessions] = s->seen_wall_s;
    r->n_sessions++;
    char v[8] = "";
    if (s->version)
        snprintf(v, sizeof v, " v%u", s->version);
    say(r, "S %s e%u w=%s d%u%s\n", s->client_id, s->expiry_s, w, s->will ? s->will_delay_s : 0, v);
    return 0;
}

static int rec_sub(void *ctx, const char *client, const struct store_sub_rec *s)
{
    say(ctx, "B %s %s o%u i%u\n", client, s->filter, s->options, s->sub_id);
    return 0;
}

static int rec_inflight(void *ctx, const char *client, uint16_t packet_id, uint8_t state,
                        const struct msg *m, const struct store_delivery *d)
{
    char t[512], ids[128];
    msg_text(m, t, sizeof t);
    ids_text(d, ids, sizeof ids);
    say(ctx, "F %s p%u s%u %s q%ur%d%s\n", client, packet_id, state, t, d->qos, d->retain, ids);
    return 0;
}

static int rec_queued(void *ctx, const char *client, const struct msg *m,
                      const struct store_delivery *d)
{
    struct fx_rec *r = ctx;
    char t[512], ids[128];
    msg_text(m, t, sizeof t);
    ids_text(d, ids, sizeof ids);
    if (r->n_queued < 64) {
        bool has = false;
        uint32_t left = msg_expiry_remaining_s(m, r->now_mono_ms, &has);
        r->remaining_s[r->n_queued] = has ? left : 0;
        r->queued[r->n_queued++] = m;
    }
    say(r, "Q %s %s q%ur%d%s\n", client, t, d->qos, d->retain, ids);
    return 0;
}

static int rec_qos2(void *ctx, const char *client, uint16_t packet_id)
{
    say(ctx, "2 %s p%u\n", client, packet_id);
    return 0;
}

static int rec_retained(void *ctx, const char *topic, const struct msg *m, uint64_t msg_id)
{
    (void)msg_id;
    char t[512];
    msg_text(m, t, sizeof t);
    say(ctx, "R %s %s\n", topic, t);
    return 0;
}

const struct store_load_cb fx_rec_cb = {rec_session, rec_sub,  rec_inflight,
                                        rec_queued,  rec_qos2, rec_retained};

void fx_rec_free(struct fx_rec *r)
{
    free(r->text);
    memset(r, 0, sizeof *r);
}

int fx_load(struct store *s, struct fx_rec *r, const struct store_now *now)
{
    memset(r, 0, sizeof *r);
    r->now_mono_ms = now->mono_ms;
    say(r, "%s", "");
    return store_load(s, &fx_rec_cb, r, now);
}

int fx_count_prefix(const char *dir, const char *prefix, char *first, size_t firstlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
            (len > 4 && (strcmp(e->d_name + len - 4, "-wal") == 0 ||
                         strcmp(e->d_name + len - 4, "-shm") == 0)))
            continue;
        if (n++ == 0 && first)
            snprintf(first, firstlen, "%s", e->d_name);
    }
    closedir(d);
    return n;
}
