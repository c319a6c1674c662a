/* Broker construction, the client-id registry, start/stop and reload. The registry is the only
 * structure every worker locks, and only on CONNECT and at session end, never per message. */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker_log.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "mem.h"
#include "persist.h"
#include "retain.h"
#include "security.h"
#include "session.h"
#include "sys.h"
#include "topic_tree.h"
#include "worker.h"

static uint64_t hash_id(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Index of the slot for id: the one holding it, or the first empty one (cap is a power of 2,
 * never full). Tombstones are avoided by re-inserting the cluster after a removal. */
static size_t reg_slot(const struct broker *b, const char *id, size_t len)
{
    size_t mask = b->reg_cap - 1;
    size_t i = (size_t)hash_id(id, len) & mask;
    while (b->reg[i]) {
        const char *k = b->reg[i]->client_id;
        if (strlen(k) == len && memcmp(k, id, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static int reg_grow(struct broker *b)
{
    size_t ncap = b->reg_cap ? b->reg_cap * 2 : 1024;
    struct session **old = b->reg;
    size_t ocap = b->reg_cap;
    b->reg = mem_calloc(ncap, sizeof *b->reg);
    if (!b->reg) {
        b->reg = old;
        return TERN_ENOMEM;
    }
    b->reg_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            b->reg[reg_slot(b, old[i]->client_id, strlen(old[i]->client_id))] = old[i];
    mem_free(old);
    return 0;
}

struct session *registry_get(struct broker *b, const char *client_id, size_t len)
{
    pthread_mutex_lock(&b->reg_lock);
    struct session *s = b->reg_cap ? b->reg[reg_slot(b, client_id, len)] : NULL;
    if (s)
        session_ref(s);
    pthread_mutex_unlock(&b->reg_lock);
    return s;
}

int registry_put(struct broker *b, struct session *s, struct session **old)
{
    int rc = 0;
    *old = NULL;
    pthread_mutex_lock(&b->reg_lock);
    if ((b->reg_len + 1) * 2 > b->reg_cap)
        rc = reg_grow(b);
    if (rc == 0) {
        size_t i = reg_slot(b, s->client_id, strlen(s->client_id));
        *old = b->reg[i];
        if (!*old)
            b->reg_len++;
        b->reg[i] = s;
    }
    pthread_mutex_unlock(&b->reg_lock);
    return rc;
}

bool registry_remove(struct broker *b, struct session *s)
{
    bool removed = false;
    pthread_mutex_lock(&b->reg_lock);
    size_t len = strlen(s->client_id);
    if (b->reg_cap) {
        size_t mask = b->reg_cap - 1, i = reg_slot(b, s->client_id, len);
        if (b->reg[i] == s) {
            b->reg[i] = NULL;
            b->reg_len--;
            removed = true;
            /* Re-insert the rest of the probe cluster so lookups stay correct. */
            for (size_t j = (i + 1) & mask; b->reg[j]; j = (j + 1) & mask) {
                struct session *x = b->reg[j];
                b->reg[j] = NULL;
                b->reg[reg_slot(b, x->client_id, strlen(x->client_id))] = x;
            }
        }
    }
    pthread_mutex_unlock(&b->reg_lock);
    if (removed)
        session_unref(s);
    return removed;
}

size_t registry_count(struct broker *b)
{
    pthread_mutex_lock(&b->reg_lock);
    size_t n = b->reg_len;
    pthread_mutex_unlock(&b->reg_lock);
    return n;
}

static unsigned worker_count(const struct config *cfg)
{
    if (cfg->worker_threads)
        return cfg->worker_threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* broker_new without binding when bind is false (in-memory connections only). */
static struct broker *build(struct config *cfg, struct log *log, bool bind)
{
    struct broker *b = mem_calloc(1, sizeof *b);
    if (!b) {
        config_free(cfg);
        return NULL;
    }
    b->cfg = cfg;
    b->log = log;
    pthread_mutex_init(&b->reg_lock, NULL);
    pthread_mutex_init(&b->retire_lock, NULL);
    b->start_mono_ms = clock_mono_ms();
    b->start_wall_s = clock_wall_s();
    b->n_workers = worker_count(cfg);
    b->n_listeners = cfg->listener_count;
    b->listeners = mem_calloc(b->n_listeners ? b->n_listeners : 1, sizeof *b->listeners);
    b->workers = mem_calloc(b->n_workers, sizeof *b->workers);
    b->tree = topic_tree_new();
    b->retain = retain_new(cfg->max_retained_messages, cfg->max_retained_bytes);
    b->sys = sys_state_new();
    if (!b->listeners || !b->workers || !b->tree || !b->retain || !b->sys)
        goto fail;
    size_t i = 0;
    for (const struct listener_conf *lc = cfg->listeners; lc; lc = lc->next, i++) {
        b->listeners[i].conf = lc;
        b->listeners[i].port = lc->port;
    }
    if (!security_init(b))
        goto fail;
    for (unsigned k = 0; k < b->n_workers; k++) {
        b->workers[k] = worker_new(b, k);
        if (!b->workers[k])
            goto fail;
    }
    for (unsigned k = 0; bind && k < b->n_workers; k++)
        if (worker_listen(b->workers[k]) != 0)
            goto fail;
    return b;
fail:
    log_msg(log, TLOG_ERR, "Error: unable to start the broker.");
    broker_free(b);
    return NULL;
}

struct broker *broker_new(struct config *cfg, struct log *log)
{
    return build(cfg, log, true);
}

struct broker *broker_new_unbound(struct config *cfg, struct log *log)
{
    return build(cfg, log, false);
}

void broker_start_inline(struct broker *b)
{
    persist_open(b); /* replays the store before any worker runs */
}

int broker_start(struct broker *b)
{
    /* Before any other thread logs: the sink is read without synchronisation. */
    b->log_topic = broker_log_new(b->workers[0]->loop);
    if (b->log_topic)
        log_set_sink(b->log, broker_log_sink, b->log_topic);
    else
        log_msg(b->log, TLOG_WARN, "Warning: out of memory: log_dest topic is off.");
    persist_open(b); /* replays the store before any worker runs */
    for (unsigned k = 0; k < b->n_workers; k++)
        if (worker_start(b->workers[k]) != 0)
            return TERN_ESYS;
    for (size_t i = 0; i < b->n_listeners; i++) {
        const struct listener_conf *lc = b->listeners[i].conf;
        if (lc->unix_path)
            log_msg(b->log, TLOG_NOTICE, "Opening unix listen socket on %s.", lc->unix_path);
        else
            log_msg(b->log, TLOG_NOTICE, "Opening listen socket on %s port %u.",
                    lc->bind_address ? lc->bind_address : "all addresses", b->listeners[i].port);
    }
    return 0;
}

int broker_write_ready_file(const struct broker *b, const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return TERN_EIO;
    for (size_t i = 0; i < b->n_listeners; i++) {
        const struct listener_conf *lc = b->listeners[i].conf;
        if (lc->unix_path)
            fprintf(f, "mqtt unix %s\n", lc->unix_path);
        else
            fprintf(f, "%s %s %u\n", lc->protocol == LISTENER_WEBSOCKETS ? "ws" : "mqtt",
                    lc->bind_address ? lc->bind_address : "*", b->listeners[i].port);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return TERN_EIO;
    return 0;
}

void broker_stop(struct broker *b)
{
    for (unsigned k = 0; k < b->n_workers; k++)
        if (b->workers[k])
            worker_request_stop(b->workers[k]);
    for (unsigned k = 0; k < b->n_workers; k++)
        if (b->workers[k])
            worker_join(b->workers[k]);
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether two listener configurations describe the same socket. */
static bool same_socket(const struct listener_conf *a, const struct listener_conf *b)
{
    return a->protocol == b->protocol && a->port == b->port &&
           a->socket_domain == b->socket_domain && str_eq(a->unix_path, b->unix_path) &&
           str_eq(a->bind_address, b->bind_address) && str_eq(a->bind_interface, b->bind_interface);
}

/* The listener of cfg not taken yet (taken[i]) that matches old, or NULL. */
static struct listener_conf *match_listener(struct config *cfg, const struct listener_conf *old,
                                            bool *taken)
{
    size_t i = 0;
    for (struct listener_conf *lc = cfg->listeners; lc; lc = lc->next, i++)
        if (!taken[i] && same_socket(lc, old)) {
            taken[i] = true;
            return lc;
        }
    return NULL;
}

/* Points each running listener at its counterpart in cfg (before cfg is published, so the
 * workers see a complete configuration). A connection keeps its listener's mount point for its
 * life (conn.c caches its length), so the new listener keeps the running one's. */
static void reload_listeners(struct broker *b, struct config *cfg)
{
    bool *taken = mem_calloc(cfg->listener_count ? cfg->listener_count : 1, sizeof *taken);
    if (!taken) {
        log_msg(b->log, TLOG_ERR, "Error: out of memory; listener settings not reloaded.");
        return;
    }
    for (size_t i = 0; i < b->n_listeners; i++) {
        struct listener_rt *lr = &b->listeners[i];
        const struct listener_conf *old = lr->conf;
        struct listener_conf *lc = match_listener(cfg, old, taken);
        if (!lc) {
            log_msg(
                b->log, TLOG_WARN,
                "Warning: listener on port %u is not in the reloaded configuration; it keeps its "
                "settings until the next restart.",
                lr->port);
            continue;
        }
        if (!str_eq(lc->mount_point, old->mount_point)) {
            char *mp = old->mount_point ? mem_strdup(old->mount_point) : NULL;
            if (old->mount_point && !mp)
                continue; /* out of memory: keep the running settings */
            log_msg(b->log, TLOG_WARN,
                    "Warning: a changed mount_point takes effect at the next restart.");
            mem_free(lc->mount_point);
            lc->mount_point = mp;
        }
        atomic_store(&lr->conf, lc);
    }
    for (size_t i = 0; i < cfg->listener_count; i++)
        if (!taken[i])
            log_msg(b->log, TLOG_WARN, "Warning: a new listener takes effect at the next restart.");
    mem_free(taken);
}

void broker_reload(struct broker *b, struct config *cfg)
{
    struct config **p = mem_realloc(b->old_cfgs, (b->n_old_cfgs + 1) * sizeof *p);
    if (!p) {
        config_free(cfg);
        return;
    }
    b->old_cfgs = p;
    b->old_cfgs[b->n_old_cfgs++] = b->cfg;
    /* The listeners first: a worker that sees the new b->cfg and an old listener, or the
     * reverse, for one connection is harmless; both stay alive until broker_free. */
    reload_listeners(b, cfg);
    retain_set_limits(b->retain, cfg->max_retained_messages, cfg->max_retained_bytes);
    atomic_store(&b->cfg, cfg);
    security_reload(b);
}

/* retain_expiry_interval (minutes): the sweep period. TERN_TEST_RETAIN_SWEEP_MS replaces the
 * minutes by milliseconds for the integration tests; it has no effect when the option is off. */
static uint64_t sweep_period_ms(const struct config *cfg)
{
    if (!cfg->retain_expiry_interval)
        return 0;
    const char *t = getenv("TERN_TEST_RETAIN_SWEEP_MS");
    if (t && *t) {
        char *end = NULL;
        unsigned long long v = strtoull(t, &end, 10);
        if (end && !*end && v > 0)
            return v;
    }
    return (uint64_t)cfg->retain_expiry_interval * 60000u;
}

/* Mosquitto's retain_expiry_interval: retained messages whose Message Expiry Interval passed
 * are never delivered (retain_match skips them), but only a sweep frees them. The store's own
 * copies go with persist_tick's store_expire. */
static void sweep_retained(struct broker *b)
{
    size_t n = retain_sweep(b->retain, clock_mono_ms(), sweep_period_ms(b->cfg));
    if (n)
        log_msg(b->log, TLOG_INFO, "Removed %zu expired retained message%s.", n, n == 1 ? "" : "s");
}

void broker_poll(struct broker *b)
{
    security_poll_files(b);
    sweep_retained(b);
    if (++b->polls % 12 == 0)
        persist_tick(b); /* about once a minute */
}

void broker_free(struct broker *b)
{
    if (!b)
        return;
    persist_close(b); /* commits what is queued; the workers have stopped */
    if (b->log_topic) {
        log_set_sink(b->log, NULL, NULL); /* every other thread has ended */
        broker_log_free(b->log_topic);
    }
    for (unsigned k = 0; b->workers && k < b->n_workers; k++)
        worker_free(b->workers[k]);
    mem_free(b->workers);
    topic_tree_free(b->tree);
    for (size_t i = 0; i < b->reg_cap; i++)
        session_unref(b->reg[i]);
    mem_free(b->reg);
    retain_free(b->retain);
    security_free(b);
    mem_free(b->listeners);
    for (size_t i = 0; i < b->n_old_cfgs; i++)
        config_free(b->old_cfgs[i]);
    mem_free(b->old_cfgs);
    config_free(b->cfg);
    mem_free(b->sys);
    pthread_mutex_destroy(&b->reg_lock);
    pthread_mutex_destroy(&b->retire_lock);
    mem_free(b);
}
