/* Worker threads. Each runs its own event loop over the connections it accepted. Work for
 * sessions owned by another worker is batched per destination during an iteration and handed
 * over at its end: one lock and one eventfd write per destination per iteration. */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "broker_log.h"
#include "broker_metrics.h"
#include "config.h"
#include "conn.h"
#include "deliver.h"
#include "http_api_client.h"
#include "lifecycle.h"
#include "listener.h"
#include "loop.h"
#include "mem.h"
#include "mqtt.h"
#include "sys.h"
#include "ws_listener.h"

/* A session this worker gave to another (lifecycle_takeover). Other workers may have routed to
 * s here before they saw the move; once each has finished an iteration that began after the
 * move was published (its epoch passed the one seen here), all of that is in this worker's
 * inbox. It is forwarded, and then `to` hears WORK_SETTLED, in that order: `to` holds what it
 * gets for s directly until then, so a publisher's messages reach s in the order it sent them.
 * (A store/load pair on each side, owner then epochs here and epoch then owner there, each with
 * a seq_cst fence between: one of the two sees the other's store.) */
struct settle {
    struct session *s; /* a reference */
    struct worker *to;
    uint64_t *seen; /* [n_workers]: their epochs just after the move */
    bool ready;     /* settle_check's scratch */
};

#define SETTLE_POLL_MS 1

static void vec_clear(struct work_vec *v)
{
    for (size_t i = 0; i < v->len; i++) {
        session_unref(v->items[i].s);
        delivery_clear(&v->items[i].d);
        http_api_query_free(v->items[i].query);
    }
    v->len = 0;
}

/* Room for one more item in v; TERN_ENOMEM. */
static int vec_reserve(struct work_vec *v)
{
    if (v->len < v->cap)
        return 0;
    size_t ncap = v->cap ? v->cap * 2 : 64;
    struct work_item *p = mem_realloc(v->items, ncap * sizeof *p);
    if (!p)
        return TERN_ENOMEM;
    v->items = p;
    v->cap = ncap;
    return 0;
}

static int vec_push(struct work_vec *v, const struct work_item *it)
{
    if (vec_reserve(v) != 0)
        return TERN_ENOMEM;
    v->items[v->len++] = *it;
    return 0;
}

static void settled(struct worker *w, struct session *s);

void worker_handle_item(struct worker *w, struct work_item *it)
{
    struct session *s = it->s;
    switch (it->kind) {
    case WORK_DELIVER:
        if (session_owner(s) != w && !s->ended) {
            /* The session moved on since this was sent: follow it (not held there). */
            it->forwarded = true;
            worker_post(w, session_owner(s), it);
            return;
        }
        if (it->forwarded)
            deliver_to_session_now(w, s, &it->d);
        else
            deliver_to_session(w, s, &it->d);
        session_unref(s);
        break;
    case WORK_TAKEOVER:
        if (session_owner(s) != w) {
            worker_post(w, session_owner(s), it);
            return;
        }
        if (worker_settle_holds(s)) {
            /* Moving s on before its last move settled could reorder what is held: later. */
            if (vec_push(&w->deferred, it) != 0)
                lifecycle_takeover(w, s, it->conn);
            return;
        }
        lifecycle_takeover(w, s, it->conn); /* passes the reference on */
        break;
    case WORK_SETTLED:
        settled(w, s);
        break;
    case WORK_HANDOFF:
        lifecycle_handoff(w, s, it->conn);
        break;
    case WORK_KICK:
        if (session_owner(s) != w) {
            worker_post(w, session_owner(s), it);
            return;
        }
        lifecycle_kick(w, s);
        break;
    case WORK_DISCONNECT:
        if (session_owner(s) != w && !s->ended) {
            worker_post(w, session_owner(s), it);
            return;
        }
        if (session_owner(s) == w && s->conn)
            conn_close(s->conn, MQTT_RC_ADMINISTRATIVE_ACTION);
        session_unref(s);
        break;
    case WORK_INSPECT:
        http_api_inspect(w, it);
        break;
    case WORK_INSPECT_DONE:
        http_api_inspect_done(w, it);
        break;
    default:
        break;
    }
}

void worker_post(struct worker *w, struct worker *to, struct work_item *it)
{
    if (to == w) {
        worker_handle_item(w, it);
        return;
    }
    if (vec_push(&w->outbox[to->index], it) != 0) {
        /* Out of memory: the delivery is lost, like any message dropped under pressure. */
        if (it->d.m)
            worker_stat_add(&w->stats.dropped[DROP_NO_MEMORY], 1);
        session_unref(it->s);
        delivery_clear(&it->d);
        http_api_query_lost(it->query); /* its request is answered 500 at once */
        return;
    }
    w->outbox_pending = true;
}

void worker_settle_hold(struct worker *w, struct session *s, struct delivery *d)
{
    struct work_item it = {.kind = WORK_DELIVER, .s = session_ref(s), .d = *d};
    if (vec_push(&w->held, &it) != 0) {
        worker_stat_add(&w->stats.dropped[DROP_NO_MEMORY], 1);
        session_unref(s);
        delivery_clear(d);
    }
}

/* WORK_SETTLED on s's new owner: what was held for s goes out in the order it came, then the
 * takeovers that waited for it are handled. */
static void settled(struct worker *w, struct session *s)
{
    atomic_store_explicit(&s->settling, false, memory_order_relaxed);
    size_t keep = 0;
    for (size_t i = 0; i < w->held.len; i++) {
        struct work_item *it = &w->held.items[i];
        if (it->s != s) {
            w->held.items[keep++] = *it;
            continue;
        }
        deliver_to_session_now(w, s, &it->d);
        session_unref(s);
    }
    w->held.len = keep;
    keep = 0;
    size_t n = w->deferred.len;
    for (size_t i = 0; i < n; i++) {
        struct work_item it = w->deferred.items[i];
        if (it.s != s) {
            w->deferred.items[keep++] = it;
            continue;
        }
        worker_handle_item(w, &it); /* may defer others: appended past n */
    }
    /* Items deferred while handling the ones above were appended past n. */
    for (size_t i = n; i < w->deferred.len; i++)
        w->deferred.items[keep++] = w->deferred.items[i];
    w->deferred.len = keep;
    session_unref(s); /* the one SETTLED carried */
}

static void settle_poll(struct loop *l, void *ctx)
{
    (void)l;
    struct worker *w = ctx;
    w->settle_timer = 0; /* the iteration this runs in checks the settles */
}

void worker_settle_begin(struct worker *w, struct session *s, struct worker *to)
{
    struct broker *b = w->b;
    atomic_thread_fence(memory_order_seq_cst); /* the owner store before the epoch loads */
    struct settle st = {.s = session_ref(s), .to = to};
    st.seen = mem_alloc(b->n_workers * sizeof *st.seen);
    struct settle *p = st.seen ? mem_realloc(w->settles, (w->n_settles + 1) * sizeof *p) : NULL;
    if (!p) {
        /* Out of memory: settle at once, at the price of the ordering guarantee. */
        mem_free(st.seen);
        struct work_item it = {.kind = WORK_SETTLED, .s = st.s};
        worker_post(w, to, &it);
        return;
    }
    w->settles = p;
    for (unsigned i = 0; i < b->n_workers; i++)
        st.seen[i] = atomic_load_explicit(&b->workers[i]->epoch, memory_order_acquire);
    w->settles[w->n_settles++] = st;
    for (unsigned i = 0; i < b->n_workers; i++)
        if (i != w->index)
            loop_wake(b->workers[i]->loop); /* an idle worker finishes an iteration too */
    if (!w->settle_timer)
        w->settle_timer = loop_timer_add(w->loop, SETTLE_POLL_MS, settle_poll, w);
}

static void on_wake(struct loop *l, void *ctx);

static bool settle_ready(struct worker *w, const struct settle *st)
{
    for (unsigned i = 0; i < w->b->n_workers; i++)
        if (i != w->index &&
            atomic_load_explicit(&w->b->workers[i]->epoch, memory_order_acquire) <= st->seen[i])
            return false;
    return true;
}

/* From after_iteration: sends SETTLED for every settle whose workers have all moved on, after
 * forwarding what they sent here. Readiness is decided before the inbox is drained: only then
 * is all of it in there. Draining may begin new settles (appended past n). */
static void settle_check(struct worker *w)
{
    size_t n = w->n_settles, ready = 0;
    for (size_t i = 0; i < n; i++) {
        w->settles[i].ready = settle_ready(w, &w->settles[i]);
        ready += w->settles[i].ready;
    }
    if (ready) {
        on_wake(w->loop, w);
        size_t keep = 0;
        for (size_t i = 0; i < w->n_settles; i++) {
            struct settle *st = &w->settles[i];
            if (i >= n || !st->ready) {
                w->settles[keep++] = *st;
                continue;
            }
            if (vec_reserve(&w->outbox[st->to->index]) != 0) {
                w->settles[keep++] = *st; /* out of memory: SETTLED waits for the next check */
                continue;
            }
            struct work_item it = {.kind = WORK_SETTLED, .s = st->s}; /* our reference */
            mem_free(st->seen);
            worker_post(w, st->to, &it);
        }
        w->n_settles = keep;
    }
    if (w->n_settles && !w->settle_timer)
        w->settle_timer = loop_timer_add(w->loop, SETTLE_POLL_MS, settle_poll, w);
}

static void on_wake(struct loop *l, void *ctx)
{
    (void)l;
    struct worker *w = ctx;
    struct work_vec batch;
    struct list_node lost;
    list_init(&lost);
    pthread_mutex_lock(&w->inbox_lock);
    batch = w->inbox;
    memset(&w->inbox, 0, sizeof w->inbox);
    list_splice_tail(&lost, &w->lost_queries); /* http_api_query_lost's */
    bool stop = w->stopping;
    pthread_mutex_unlock(&w->inbox_lock);
    for (size_t i = 0; i < batch.len; i++)
        worker_handle_item(w, &batch.items[i]);
    mem_free(batch.items);
    http_api_answer_lost(w, &lost);
    if (w->index == 0)
        broker_log_publish(w, w->b->log_topic); /* log_dest topic */
    conn_release_acks(w);
    if (stop) {
        w->shutting_down = true;
        ws_listener_worker_stop(w);
        struct list_node *it, *tmp;
        LIST_FOREACH (it, tmp, &w->conns) {
            conn_close(LIST_ENTRY(it, struct conn, node), MQTT_RC_SERVER_SHUTTING_DOWN);
        }
        loop_stop(w->loop);
    }
}

static void flush_outboxes(struct worker *w)
{
    if (!w->outbox_pending)
        return;
    w->outbox_pending = false;
    for (unsigned i = 0; i < w->b->n_workers; i++) {
        struct work_vec *v = &w->outbox[i];
        if (!v->len)
            continue;
        struct worker *to = w->b->workers[i];
        pthread_mutex_lock(&to->inbox_lock);
        size_t moved = 0; /* items of v now in to's inbox */
        if (to->inbox.len == 0) {
            /* Swap whole vectors: the common case costs no copy (v is then empty). */
            struct work_vec tmp = to->inbox;
            to->inbox = *v;
            *v = tmp;
        } else {
            for (moved = 0; moved < v->len; moved++)
                if (vec_push(&to->inbox, &v->items[moved]) != 0)
                    break;
        }
        pthread_mutex_unlock(&to->inbox_lock);
        if (moved < v->len) {
            /* Out of memory: the items before `moved` are to's now; the rest stay here, in
             * order, for the next flush (the keep-alive sweep's timer makes one). */
            memmove(v->items, v->items + moved, (v->len - moved) * sizeof *v->items);
            v->len -= moved;
            w->outbox_pending = true;
        } else {
            v->len = 0; /* all of it was moved */
        }
        loop_wake(to->loop);
    }
}

static void keepalive_sweep(struct loop *l, void *ctx)
{
    struct worker *w = ctx;
    conn_keepalive_sweep(w);
    w->ka_timer = loop_timer_add(l, WORKER_KA_SWEEP_MS, keepalive_sweep, w);
}

/* End of every loop iteration: write what connections produced, send batches to other
 * workers, free connections closed during the iteration. */
static void after_iteration(struct loop *l, void *ctx)
{
    (void)l;
    struct worker *w = ctx;
    if (w->n_settles)
        settle_check(w);
    while (!list_empty(&w->dirty))
        conn_flush(LIST_ENTRY(w->dirty.next, struct conn, dirty_node));
    flush_outboxes(w);
    if (w->b->n_workers > 1) {
        /* This iteration's batches are handed over (settle): its routes are done. */
        atomic_fetch_add_explicit(&w->epoch, 1, memory_order_seq_cst);
        atomic_thread_fence(memory_order_seq_cst); /* before the next iteration's owner loads */
    }
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, &w->graveyard) {
        struct conn *c = LIST_ENTRY(it, struct conn, node);
        if (!c->pending_handoff) {
            list_remove(it);
            conn_destroy(c);
        }
    }
}

static void on_accept(struct loop *l, int fd, unsigned events, void *ctx)
{
    (void)l;
    (void)events;
    struct listen_fd *lf = ctx;
    struct worker *w = lf->w;
    for (int n = 0; n < 64; n++) {
        char peer[64];
        int cfd = listener_accept(fd, peer, sizeof peer);
        if (cfd < 0)
            return;
        int max = lf->lr->conf->max_connections;
        if (max >= 0 && atomic_load(&lf->lr->connections) >= max) {
            log_msg(w->b->log, TLOG_NOTICE, "Connection from %s refused: max_connections", peer);
            atomic_fetch_add(&w->b->stats.connections_refused, 1);
            close(cfd);
            continue;
        }
        atomic_fetch_add(&lf->lr->connections, 1);
        log_msg(w->b->log, TLOG_DEBUG, "New connection from %s.", peer);
        if (lf->lr->conf->protocol == LISTENER_WEBSOCKETS)
            ws_listener_accept(w, cfd, peer, lf->lr); /* HTTP first, MQTT after the upgrade */
        else
            conn_accept(w, cfd, peer, lf->lr);
    }
}

struct worker *worker_new(struct broker *b, unsigned index)
{
    struct worker *w = mem_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->b = b;
    w->index = index;
    list_init(&w->conns);
    list_init(&w->dirty);
    list_init(&w->graveyard);
    list_init(&w->ack_conns);
    list_init(&w->lost_queries);
    pthread_mutex_init(&w->inbox_lock, NULL);
    w->loop = loop_new();
    w->outbox = mem_calloc(b->n_workers, sizeof *w->outbox);
    w->lfds = mem_calloc(b->n_listeners, sizeof *w->lfds);
    if (!w->loop || !w->outbox || !w->lfds) {
        worker_free(w);
        return NULL;
    }
    loop_set_wake(w->loop, on_wake, w);
    loop_set_after(w->loop, after_iteration, w);
    loop_set_busy_poll(w->loop, b->cfg->worker_busy_poll_us);
    w->ka_timer = loop_timer_add(w->loop, WORKER_KA_SWEEP_MS, keepalive_sweep, w);
    if (!w->ka_timer) {
        worker_free(w);
        return NULL;
    }
    return w;
}

/* With several workers each binds its own socket with SO_REUSEPORT, and the kernel lets any
 * other SO_REUSEPORT socket of the same user join the port too: a second broker started on a
 * port that is in use (or a restart while the old process still listens) would run, share the
 * connections, and its exit would reset those queued to it ("connection closed" at connect).
 * So before the first worker binds an explicit port, a plain bind must succeed, as Mosquitto's
 * does: "Address already in use" otherwise. An ephemeral port (0) is never handed out shared.
 * (Two brokers binding the same port within the same microseconds can still both pass.) */
static int port_free(const struct listener_rt *lr, char *err, size_t errlen)
{
    int fd = listener_open_tcp(lr->conf->bind_address, lr->port, lr->conf->socket_domain, 0, NULL,
                               err, errlen);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

int worker_listen(struct worker *w)
{
    struct broker *b = w->b;
    for (size_t i = 0; i < b->n_listeners; i++) {
        struct listener_rt *lr = &b->listeners[i];
        int fd;
        char err[256];

        if (lr->conf->unix_path) {
            if (w->index != 0)
                continue;
            fd = listener_open_unix(lr->conf->unix_path, err, sizeof err);
        } else {
            uint16_t port = 0;
            bool first = w->index == 0 && b->n_workers > 1 && lr->port != 0;
            fd = first ? port_free(lr, err, sizeof err) : 0;
            if (fd == 0)
                fd = listener_open_tcp(lr->conf->bind_address, lr->port, lr->conf->socket_domain,
                                       b->n_workers > 1, &port, err, sizeof err);
            if (fd >= 0)
                lr->port = port; /* later workers bind the same (possibly ephemeral) port */
            if (fd >= 0 && lr->conf->bind_interface)
                fd = listener_bind_device(fd, lr->conf->bind_interface, err, sizeof err);
        }
        if (fd < 0) {
            log_msg(b->log, TLOG_ERR, "Error: unable to open listener: %s", err);
            return TERN_EIO;
        }
        struct listen_fd *lf = &w->lfds[w->n_lfds++];
        lf->fd = fd;
        lf->lr = lr;
        lf->w = w;
        if (loop_add(w->loop, fd, LOOP_READ, on_accept, lf) != 0)
            return TERN_EIO;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    if (w->index == 0)
        sys_start(w);
    broker_metrics_worker_start(w); /* the event-loop lag probe */
    loop_run(w->loop);
    return NULL;
}

int worker_start(struct worker *w)
{
    return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : TERN_ESYS;
}

void worker_request_stop(struct worker *w)
{
    pthread_mutex_lock(&w->inbox_lock);
    w->stopping = true;
    pthread_mutex_unlock(&w->inbox_lock);
    loop_wake(w->loop);
}

void worker_join(struct worker *w)
{
    pthread_join(w->thread, NULL);
}

int worker_run_once(struct worker *w)
{
    /* A stop requested before loop_run makes it poll without waiting and return after one
     * iteration; the production path (loop_run in worker_main) is untouched. */
    loop_stop(w->loop);
    return loop_run(w->loop);
}

bool worker_idle(struct worker *w)
{
    pthread_mutex_lock(&w->inbox_lock);
    bool idle = w->inbox.len == 0 && list_empty(&w->lost_queries);
    pthread_mutex_unlock(&w->inbox_lock);
    return idle && !w->outbox_pending && !w->n_settles && list_empty(&w->dirty) &&
           list_empty(&w->graveyard);
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, &w->graveyard) {
        list_remove(it);
        conn_destroy(LIST_ENTRY(it, struct conn, node));
    }
    http_api_lost_free(&w->lost_queries); /* no other thread runs now */
    ws_listener_worker_free(w);
    for (size_t i = 0; i < w->n_lfds; i++) {
        if (w->loop)
            loop_remove(w->loop, w->lfds[i].fd);
        close(w->lfds[i].fd);
    }
    if (w->outbox) {
        for (unsigned i = 0; i < w->b->n_workers; i++) {
            vec_clear(&w->outbox[i]);
            mem_free(w->outbox[i].items);
        }
    }
    vec_clear(&w->inbox);
    mem_free(w->inbox.items);
    vec_clear(&w->held);
    mem_free(w->held.items);
    vec_clear(&w->deferred); /* conn_destroy above freed their connections */
    mem_free(w->deferred.items);
    for (size_t i = 0; i < w->n_settles; i++) {
        session_unref(w->settles[i].s);
        mem_free(w->settles[i].seen);
    }
    mem_free(w->settles);
    mem_free(w->outbox);
    mem_free(w->lfds);
    mem_free(w->matches);
    mem_free(w->match_slots);
    loop_free(w->loop);
    pthread_mutex_destroy(&w->inbox_lock);
    mem_free(w);
}
