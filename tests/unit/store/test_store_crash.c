/* Crash consistency of the store: a child process writes records under STORE_FSYNC_ALWAYS and
 * reports each durable seq through a pipe from the notify callback; the parent kills it with
 * SIGKILL after a random number of commits, reopens the store and checks that every record
 * whose seqs were reported durable is there, intact. 20 rounds. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "store.h"
#include "store_fixture.h"
#include "unit.h"

#define OPS_PER_RECORD 5
#define MAX_RECORDS    20000
#define WINDOW         40 /* records written between waits for durability */
#define ROUNDS         20

struct child_ctx {
    int fd;
    struct store *s;
};

static void child_notify(void *arg)
{
    struct child_ctx *c = arg;
    uint64_t durable = store_durable_seq(c->s);
    if (write(c->fd, &durable, sizeof durable) != (ssize_t)sizeof durable)
        _exit(3);
}

/* Record i: session c<i>, message t/<i> = "p<i>", queued for c<i>, retained at t/<i>, and
 * inbound QoS 2 id (i % 65535) + 1: seqs 5i+1 .. 5i+5. */
static void child_main(const char *path, int fd)
{
    struct child_ctx c = {fd, NULL};
    struct store_opts o = {path, STORE_FSYNC_ALWAYS, 0, 0, NULL, NULL, child_notify, &c, 0};
    char err[256];
    c.s = store_open(&o, err, sizeof err);
    if (!c.s)
        _exit(2);
    struct store_now now = store_now_read();
    for (int i = 0; i < MAX_RECORDS; i++) {
        char client[32], topic[32], payload[32];
        snprintf(client, sizeof client, "c%d", i);
        snprintf(topic, sizeof topic, "t/%d", i);
        snprintf(payload, sizeof payload, "p%d", i);
        struct msg *m = fx_msg(topic, payload, 1, 0, false, now.mono_ms);
        if (!m)
            _exit(4);
        uint64_t id = 0;
        store_session_put(c.s, client, UINT32_MAX, 0, NULL, &now);
        store_msg_put(c.s, m, &now, &id);
        struct store_delivery d = {id, 1, false, 0, NULL};
        store_queue_put(c.s, client, &d);
        store_retain_put(c.s, topic, id);
        store_qos2_put(c.s, client, (uint16_t)(i % 65535 + 1));
        msg_unref(m);
        /* Like a broker waiting for acknowledgements: a bounded window of unsynced records,
         * so a round stays small and the kill lands mid-batch. */
        if (i % WINDOW == WINDOW - 1)
            store_flush(c.s);
    }
    store_flush(c.s);
    for (;;)
        pause();
}

struct seen {
    unsigned char *flags; /* bit 0 session, 1 queued, 2 qos2, 3 retained */
    size_t n;
    unsigned bad;
};

/* The record index in "<prefix><i>", or -1. */
static long index_of(const char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0)
        return -1;
    char *end;
    long i = strtol(s + pl, &end, 10);
    return *end == '\0' ? i : -1;
}

static void mark(struct seen *sn, long i, unsigned bit)
{
    if (i >= 0 && (size_t)i < sn->n)
        sn->flags[i] |= (unsigned char)(1u << bit);
}

static int on_session(void *ctx, const struct store_session_rec *r)
{
    mark(ctx, index_of(r->client_id, "c"), 0);
    return 0;
}

static int on_queued(void *ctx, const char *client, const struct msg *m,
                     const struct store_delivery *d)
{
    struct seen *sn = ctx;
    long i = index_of(client, "c");
    char want[32];
    snprintf(want, sizeof want, "p%ld", i);
    if (index_of(m->topic, "t/") != i || m->payload_len != strlen(want) ||
        memcmp(m->payload, want, m->payload_len) != 0 || d->qos != 1)
        sn->bad++;
    else
        mark(sn, i, 1);
    return 0;
}

static int on_qos2(void *ctx, const char *client, uint16_t packet_id)
{
    long i = index_of(client, "c");
    if (i >= 0 && packet_id == (uint16_t)(i % 65535 + 1))
        mark(ctx, i, 2);
    return 0;
}

static int on_retained(void *ctx, const char *topic, const struct msg *m, uint64_t msg_id)
{
    (void)msg_id;
    long i = index_of(topic, "t/");
    char want[32];
    snprintf(want, sizeof want, "p%ld", i);
    if (m->payload_len == strlen(want) && memcmp(m->payload, want, m->payload_len) == 0)
        mark(ctx, i, 3);
    return 0;
}

/* Runs one child, kills it after `commits` notifications; returns the highest durable seq it
 * reported (0 when the child failed). */
static uint64_t run_child(const char *path, unsigned commits)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_main(path, fds[1]);
    }
    close(fds[1]);
    uint64_t max = 0, v;
    unsigned seen = 0;
    bool killed = false;
    while (read(fds[0], &v, sizeof v) == (ssize_t)sizeof v) {
        max = v > max ? v : max;
        if (!killed && (++seen >= commits || max >= (uint64_t)MAX_RECORDS * OPS_PER_RECORD)) {
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    /* EOF: the child is dead; anything it wrote before dying was read above. */
    if (!killed)
        kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? max : 0;
}

static void test_sigkill_keeps_every_durable_record(void)
{
    static const struct store_load_cb cb = {on_session, NULL,    NULL,
                                            on_queued,  on_qos2, on_retained};
    srand(12345);
    for (int round = 0; round < ROUNDS; round++) {
        struct fx f;
        fx_init(&f);
        unsigned commits = 1 + (unsigned)rand() % 25;
        uint64_t durable = run_child(f.path, commits);
        CHECK(durable > 0);
        size_t records = (size_t)(durable / OPS_PER_RECORD);
        struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
        REQUIRE(s);
        struct seen sn = {calloc(records + 1, 1), records, 0};
        REQUIRE(sn.flags);
        struct store_now now = store_now_read();
        CHECK_EQ_INT(store_load(s, &cb, &sn, &now), 0);
        size_t missing = 0;
        for (size_t i = 0; i < records; i++)
            missing += sn.flags[i] != 0x0f;
        CHECK_EQ_INT(missing, 0);
        CHECK_EQ_INT(sn.bad, 0);
        /* The store was not set aside: nothing was reported. */
        CHECK_EQ_INT(fx_errors(&f), 0);
        if (missing || sn.bad)
            fprintf(stderr, "round %d: durable %llu, %zu records, %zu missing\n", round,
                    (unsigned long long)durable, records, missing);
        free(sn.flags);
        store_close(s);
        fx_deinit(&f);
    }
}

UNIT_MAIN(UNIT_TEST(test_sigkill_keeps_every_durable_record))
