/* The in-memory broker of broker_mem.h: broker_new_unbound + broker_start_inline, connections
 * over transport_mem, and the workers' loops run one iteration at a time in the caller's
 * thread. The production path (threads, sockets) is not touched; nothing here runs in ternd. */
#include "broker_mem.h"

#include <stdbool.h>
#include <stdio.h>

#include "broker.h"
#include "config.h"
#include "conn.h"
#include "mem.h"
#include "transport.h"
#include "transport_mem.h"
#include "worker.h"
#include "ws_listener.h"

/* Rounds allowed for the shutdown in broker_mem_free (closing is a few iterations at most). */
#define SHUTDOWN_ROUNDS 64

struct broker_mem {
    struct broker *b;
    struct transport_mem_peer **peers;
    size_t n_peers, cap_peers;
    unsigned next_peer_id;
};

static struct config *load(const char *text, struct log *log)
{
    struct config *cfg = NULL;
    struct config_diag diag = {0};
    int rc = config_load_string(text, "mem", &cfg, &diag);
    for (size_t i = 0; i < diag.error_count; i++)
        log_msg(log, TLOG_ERR, "Error: %s", diag.errors[i]);
    config_diag_free(&diag);
    if (rc != 0) {
        config_free(cfg);
        return NULL;
    }
    if (cfg->worker_threads == 0)
        cfg->worker_threads = 1; /* not one per CPU: the caller's thread runs them all */
    return cfg;
}

struct broker_mem *broker_mem_new(const char *config_text, struct log *log)
{
    struct config *cfg = load(config_text, log);
    if (!cfg)
        return NULL;
    struct broker_mem *m = mem_calloc(1, sizeof *m);
    if (!m) {
        config_free(cfg);
        return NULL;
    }
    m->b = broker_new_unbound(cfg, log); /* takes cfg */
    if (!m->b) {
        mem_free(m);
        return NULL;
    }
    broker_start_inline(m->b);
    return m;
}

struct broker *broker_mem_broker(struct broker_mem *m)
{
    return m->b;
}

struct transport_mem_peer *broker_mem_connect(struct broker_mem *m, size_t listener,
                                              unsigned worker)
{
    struct broker *b = m->b;
    if (b->n_listeners == 0)
        return NULL;
    if (m->n_peers == m->cap_peers) {
        size_t ncap = m->cap_peers ? m->cap_peers * 2 : 8;
        struct transport_mem_peer **p = mem_realloc(m->peers, ncap * sizeof *p);
        if (!p)
            return NULL;
        m->peers = p;
        m->cap_peers = ncap;
    }
    struct transport *t;
    struct transport_mem_peer *peer;
    if (transport_mem_pair(&t, &peer) != 0)
        return NULL;
    m->peers[m->n_peers++] = peer;
    struct listener_rt *lr =
        &b->listeners[listener < b->n_listeners ? listener : b->n_listeners - 1];
    char name[32];
    snprintf(name, sizeof name, "mem:%u", m->next_peer_id++);
    atomic_fetch_add(&lr->connections, 1); /* both expect it counted */
    if (lr->conf->protocol == LISTENER_WEBSOCKETS)
        ws_listener_serve(b->workers[worker % b->n_workers], t, name, lr); /* HTTP first */
    else
        conn_start(b->workers[worker % b->n_workers], t, name, lr);
    return peer;
}

static bool all_idle(struct broker_mem *m)
{
    for (unsigned k = 0; k < m->b->n_workers; k++)
        if (!worker_idle(m->b->workers[k]))
            return false;
    for (size_t i = 0; i < m->n_peers; i++)
        if (transport_mem_server_pending(m->peers[i]))
            return false;
    return true;
}

int broker_mem_run(struct broker_mem *m, unsigned max_rounds)
{
    for (unsigned r = 0; r < max_rounds; r++) {
        for (unsigned k = 0; k < m->b->n_workers; k++)
            if (worker_run_once(m->b->workers[k]) != 0)
                return TERN_ESYS;
        if (all_idle(m))
            return 0;
    }
    return TERN_ETIMEDOUT;
}

void broker_mem_free(struct broker_mem *m)
{
    if (!m)
        return;
    for (unsigned k = 0; k < m->b->n_workers; k++)
        worker_request_stop(m->b->workers[k]);
    /* Every peer is shut so nothing new arrives; the stop closes the rest. A run that does not
     * settle leaves the remains to worker_free and broker_free, which free closed
     * connections and sessions regardless. */
    for (size_t i = 0; i < m->n_peers; i++)
        transport_mem_shutdown(m->peers[i]);
    int rc = broker_mem_run(m, SHUTDOWN_ROUNDS);
    (void)rc;
    broker_free(m->b);
    for (size_t i = 0; i < m->n_peers; i++)
        transport_mem_peer_free(m->peers[i]);
    mem_free(m->peers);
    mem_free(m);
}
