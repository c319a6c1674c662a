/* log_dest topic. A line may be logged by any thread and at any point, mid-delivery with a
 * session half-updated included, so the sink only copies it into a locked queue; worker 0
 * publishes the queue from its wake-up handler, where routing is safe. Topics as Mosquitto's:
 * $SYS/broker/log/E, W, N, I, M/subscribe, M/unsubscribe; debug lines are not published
 * (Mosquitto neither: delivering them would log more). */
#include "broker_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "broker.h"
#include "deliver.h"
#include "loop.h"
#include "mem.h"
#include "msg.h"
#include "worker.h"

/* Lines waiting beyond this are dropped: a subscriber's flood of warnings must not grow the
 * heap without bound. */
#define BACKLOG_MAX 256

struct log_line {
    struct log_line *next;
    enum log_level level;
    size_t len;
    char text[];
};

struct broker_log {
    pthread_mutex_t lock; /* guards the list */
    struct log_line *head, **tail;
    size_t n;
    struct loop *wake;
    _Atomic bool pending; /* lines are queued: a cheap test for the publisher's wake-ups */
};

/* Set while this thread publishes log lines: what routing them logs is not queued again. A
 * thread's own state, not shared, hence thread-local rather than in a struct every log call
 * would have to reach. */
static _Thread_local bool publishing;

struct broker_log *broker_log_new(struct loop *wake)
{
    struct broker_log *q = mem_calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    q->tail = &q->head;
    q->wake = wake;
    return q;
}

static void free_lines(struct log_line *l)
{
    while (l) {
        struct log_line *next = l->next;
        mem_free(l);
        l = next;
    }
}

void broker_log_free(struct broker_log *q)
{
    if (!q)
        return;
    free_lines(q->head);
    pthread_mutex_destroy(&q->lock);
    mem_free(q);
}

void broker_log_sink(void *ctx, enum log_level level, const char *line, size_t len)
{
    struct broker_log *q = ctx;
    if (level == TLOG_DEBUG || publishing)
        return;
    struct log_line *l = mem_alloc(sizeof *l + len);
    if (!l)
        return;
    l->next = NULL;
    l->level = level;
    l->len = len;
    memcpy(l->text, line, len);
    pthread_mutex_lock(&q->lock);
    bool queued = q->n < BACKLOG_MAX, first = q->n == 0;
    if (queued) {
        *q->tail = l;
        q->tail = &l->next;
        q->n++;
        atomic_store_explicit(&q->pending, true, memory_order_relaxed);
    }
    pthread_mutex_unlock(&q->lock);
    if (!queued)
        mem_free(l);
    else if (first)
        loop_wake(q->wake);
}

static const char *topic_of(enum log_level level)
{
    switch (level) {
    case TLOG_ERR:
        return "$SYS/broker/log/E";
    case TLOG_WARN:
        return "$SYS/broker/log/W";
    case TLOG_NOTICE:
        return "$SYS/broker/log/N";
    case TLOG_SUBSCRIBE:
        return "$SYS/broker/log/M/subscribe";
    case TLOG_UNSUBSCRIBE:
        return "$SYS/broker/log/M/unsubscribe";
    default:
        return "$SYS/broker/log/I";
    }
}

void broker_log_publish(struct worker *w, struct broker_log *q)
{
    if (!q || !atomic_load_explicit(&q->pending, memory_order_relaxed))
        return;
    pthread_mutex_lock(&q->lock);
    struct log_line *l = q->head;
    q->head = NULL;
    q->tail = &q->head;
    q->n = 0;
    atomic_store_explicit(&q->pending, false, memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
    publishing = true;
    for (struct log_line *it = l; it; it = it->next) {
        struct msg_init in = {
            .topic = bytes_str(topic_of(it->level)),
            .payload = bytes_of(it->text, it->len),
            .qos = 2,
            .now_ms = loop_now_ms(w->loop),
        };
        struct msg *m = msg_new(&in);
        if (!m)
            continue;
        deliver_publish(w, m);
        msg_unref(m);
    }
    publishing = false;
    free_lines(l);
}
