/* Unit tests for src/store: every record kind through close, reopen and load; updates and
 * cascades; group commit from 4 threads; durable seq and notify under each policy; flush;
 * expiry (live and at load); message garbage collection. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "msg.h"
#include "store.h"
#include "store_fixture.h"
#include "unit.h"

#define HOUR_MS 3600000

static struct store_now now_at(int64_t wall_ms)
{
    struct store_now n = store_now_read();
    n.wall_ms = wall_ms;
    return n;
}

/* Writes one of every record kind for client "c1" (and retained), returns the last seq. */
static uint64_t write_all(struct store *s, const struct store_now *now)
{
    struct msg *will = fx_msg("will/t", "bye", 1, 0, false, now->mono_ms);
    struct msg *m1 = fx_msg("a/b", "one", 1, 0, true, now->mono_ms);
    struct msg *m2 = fx_msg("a/c", "two", 2, 3600, false, now->mono_ms);
    struct msg *m3 = fx_msg("r/t", "kept", 0, 0, false, now->mono_ms);
    struct store_will w = {will, 30};
    uint64_t id1 = 0, id2 = 0, id3 = 0;
    store_session_put(s, "c1", 600, 5, &w, now);
    store_sub_put(s, "c1", "a/#", 0x11, 7);
    store_sub_put(s, "c1", "$share/g/x/+", 2, 0);
    store_msg_put(s, m1, now, &id1);
    store_msg_put(s, m2, now, &id2);
    store_msg_put(s, m3, now, &id3);
    uint32_t ids[2] = {7, 70000};
    struct store_delivery d1 = {id1, 1, false, 2, ids};
    struct store_delivery d2 = {id2, 2, true, 0, NULL};
    store_inflight_put(s, "c1", 9, 2, &d2);
    store_inflight_put(s, "c1", 3, 1, &d1);
    store_queue_put(s, "c1", &d2);
    store_queue_put(s, "c1", &d1);
    store_qos2_put(s, "c1", 42);
    store_qos2_put(s, "c1", 5);
    store_session_put(s, "c2", UINT32_MAX, 4, NULL, now);
    uint64_t seq = store_retain_put(s, "r/t", id3);
    msg_unref(will);
    msg_unref(m1);
    msg_unref(m2);
    msg_unref(m3);
    return seq;
}

#define M1                                                                                         \
    "a/b|one|q1r0|p010103000a746578742f706c61696e08000a7265706c792f6865726509000300010226000"      \
    "26b31000276312600026b320000"
#define M2 "a/c|two|q2r0|p"

static const char *const expect_all = "S c1 e600 w=will/t|bye|q1r0|p d30 v5\n"
                                      "B c1 $share/g/x/+ o2 i0\n"
                                      "B c1 a/# o17 i7\n"
                                      "F c1 p9 s2 " M2 " q2r1[]\n"
                                      "F c1 p3 s1 " M1 " q1r0[7,70000]\n"
                                      "Q c1 " M2 " q2r1[]\n"
                                      "Q c1 " M1 " q1r0[7,70000]\n"
                                      "2 c1 p5\n"
                                      "2 c1 p42\n"
                                      "S c2 e4294967295 w=- d0 v4\n"
                                      "R r/t r/t|kept|q0r0|p\n";

static void test_roundtrip_every_kind(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = store_now_read();
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    uint64_t seq = write_all(s, &now);
    CHECK(seq > 0);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK(store_durable_seq(s) >= seq);
    store_close(s);

    s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &now), 0);
    CHECK(strcmp(r.text, expect_all) == 0);
    if (strcmp(r.text, expect_all) != 0)
        fprintf(stderr, "got:\n%s\nwant:\n%s", r.text, expect_all);
    /* One message body per id, shared by the in-flight and queued references. */
    CHECK_EQ_INT(r.n_queued, 2);
    CHECK(r.queued[0] != r.queued[1]);
    /* The one-hour expiry came back as about one hour (wall time converted to monotonic). */
    CHECK(r.remaining_s[0] <= 3600 && r.remaining_s[0] >= 3590);
    CHECK_EQ_INT(r.remaining_s[1], 0);
    CHECK_EQ_INT(fx_errors(&f), 0);
    fx_rec_free(&r);
    store_close(s);
    fx_deinit(&f);
}

static void test_updates_and_cascades(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = store_now_read();
    struct store *s = fx_open(&f, STORE_FSYNC_NEVER, 0);
    REQUIRE(s);
    write_all(s, &now);
    struct msg *m = fx_msg("x/y", "p", 1, 0, false, now.mono_ms);
    uint64_t id = 0, id_b = 0;
    store_msg_put(s, m, &now, &id);
    store_msg_put(s, m, &now, &id_b);
    CHECK(id_b == id + 1);
    struct store_delivery d = {id, 1, false, 0, NULL};
    struct store_delivery db = {id_b, 1, false, 0, NULL};
    /* In-flight: a state change keeps the send order. */
    store_inflight_put(s, "c3", 1, 2, &d);
    store_inflight_put(s, "c3", 2, 2, &db);
    store_inflight_put(s, "c3", 1, 3, &d);
    store_session_put(s, "c3", 100, 0, NULL, &now);
    /* The queue removes the oldest entry of a message queued twice. */
    store_queue_put(s, "c3", &d);
    store_queue_put(s, "c3", &db);
    store_queue_put(s, "c3", &d);
    store_queue_del(s, "c3", id);
    store_sub_put(s, "c3", "f", 1, 1);
    store_sub_put(s, "c3", "f", 2, 9);
    store_sub_put(s, "c3", "g", 0, 0);
    store_sub_del(s, "c3", "g");
    store_qos2_put(s, "c3", 4);
    store_qos2_put(s, "c3", 4);
    store_qos2_put(s, "c3", 6);
    store_qos2_del(s, "c3", 6);
    store_session_del(s, "c1");
    store_retain_del(s, "r/t");
    store_retain_put(s, "x/y", id_b);
    CHECK_EQ_INT(store_flush(s), 0);
    msg_unref(m);
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &now), 0);
    const char *want = "S c2 e4294967295 w=- d0 v4\n"
                       "S c3 e100 w=- d0\n"
                       "B c3 f o2 i9\n"
                       "F c3 p1 s3 x/y|p|q1r0|p q1r0[]\n"
                       "F c3 p2 s2 x/y|p|q1r0|p q1r0[]\n"
                       "Q c3 x/y|p|q1r0|p q1r0[]\n"
                       "Q c3 x/y|p|q1r0|p q1r0[]\n"
                       "2 c3 p4\n"
                       "R x/y x/y|p|q1r0|p\n";
    CHECK(strcmp(r.text, want) == 0);
    if (strcmp(r.text, want) != 0)
        fprintf(stderr, "got:\n%s", r.text);
    /* The queue kept [id_b, id]: the first entry of id was the one removed. */
    CHECK(r.n_queued == 2 && r.queued[0] != r.queued[1]);
    /* c1's messages and the old retained one are gone; x/y's two bodies remain. */
    CHECK_EQ_INT(store_test_count(s, "msgs"), 2);
    CHECK_EQ_INT(store_test_count(s, "subs"), 1);
    fx_rec_free(&r);
    store_close(s);
    fx_deinit(&f);
}

struct writer {
    struct store *s;
    int n;
    int index;
    uint64_t last_seq;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char client[32], filter[32];
    snprintf(client, sizeof client, "w%d", w->index);
    for (int i = 0; i < w->n; i++) {
        snprintf(filter, sizeof filter, "t/%d", i);
        w->last_seq = store_sub_put(w->s, client, filter, 1, (uint32_t)i);
    }
    return NULL;
}

/* Runs 4 writers of n ops each; returns the highest seq they got. */
static uint64_t run_writers(struct store *s, int n)
{
    pthread_t t[4];
    struct writer w[4];
    uint64_t max = 0;
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){s, n, i, 0};
        pthread_create(&t[i], NULL, writer_main, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        max = w[i].last_seq > max ? w[i].last_seq : max;
    }
    return max;
}

static void test_group_commit_four_threads(void)
{
    struct fx f;
    fx_init(&f);
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    struct store_stats st0, st1;
    store_stats(s, &st0);
    store_test_hold(s, true);
    uint64_t max = run_writers(s, 500);
    CHECK_EQ_INT(max, 2000);
    CHECK(store_durable_seq(s) < max);
    store_test_hold(s, false);
    CHECK_EQ_INT(store_flush(s), 0);
    store_stats(s, &st1);
    /* 2000 ops from 4 threads: one transaction, one commit. */
    CHECK_EQ_INT(st1.commits - st0.commits, 1);
    CHECK_EQ_INT(st1.ops - st0.ops, 2000);
    CHECK_EQ_INT(store_durable_seq(s), 2000);
    CHECK_EQ_INT(store_test_count(s, "subs"), 2000);
    /* Without holding, commits still group: never more commits than ops. */
    max = run_writers(s, 250);
    CHECK_EQ_INT(store_flush(s), 0);
    struct store_stats st2;
    store_stats(s, &st2);
    CHECK(st2.commits - st1.commits >= 1 && st2.commits - st1.commits <= 1000);
    CHECK_EQ_INT(st2.ops - st1.ops, 1000);
    CHECK_EQ_INT(store_durable_seq(s), max);
    store_close(s);
    fx_deinit(&f);
}

static void test_always_notifies_without_flush(void)
{
    struct fx f;
    fx_init(&f);
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    /* An empty flush returns at once. */
    CHECK_EQ_INT(store_flush(s), 0);
    uint64_t seq = store_qos2_put(s, "c", 1);
    CHECK_EQ_INT(seq, 1);
    CHECK(fx_wait_notify(&f, 1, 10000));
    CHECK(store_durable_seq(s) >= seq);
    CHECK_EQ_INT(store_failed_seq(s), 0);
    store_close(s);
    fx_deinit(&f);
}

static void test_interval_waits_then_commits(void)
{
    struct fx f;
    fx_init(&f);
    struct store *s = fx_open(&f, STORE_FSYNC_INTERVAL, 60000);
    REQUIRE(s);
    uint64_t a = store_qos2_put(s, "c", 1);
    uint64_t b = store_qos2_put(s, "c", 2);
    /* Nothing commits before the period (a minute) unless asked. */
    CHECK(store_durable_seq(s) < a);
    CHECK_EQ_INT(fx_notifies(&f), 0);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK(store_durable_seq(s) >= b);
    struct store_stats st;
    store_stats(s, &st);
    CHECK_EQ_INT(st.commits, 1);
    CHECK(fx_wait_notify(&f, 1, 10000));
    store_close(s);

    /* A short period commits by itself. */
    s = fx_open(&f, STORE_FSYNC_INTERVAL, 50);
    REQUIRE(s);
    unsigned before = fx_notifies(&f);
    uint64_t c = store_qos2_put(s, "c", 3);
    CHECK(fx_wait_notify(&f, before + 1, 10000));
    CHECK(store_durable_seq(s) >= c);
    store_close(s);
    fx_deinit(&f);
}

static void test_never_commits_and_persists(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = store_now_read();
    struct store *s = fx_open(&f, STORE_FSYNC_NEVER, 0);
    REQUIRE(s);
    uint64_t seq = store_session_put(s, "n", 5, 0, NULL, &now);
    CHECK(fx_wait_notify(&f, 1, 10000));
    CHECK(store_durable_seq(s) >= seq);
    store_close(s);
    s = fx_open(&f, STORE_FSYNC_NEVER, 0);
    REQUIRE(s);
    CHECK_EQ_INT(store_test_count(s, "sessions"), 1);
    store_close(s);
    fx_deinit(&f);
}

static void test_expiry(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = store_now_read();
    int64_t t0 = now.wall_ms;
    struct store *s = fx_open(&f, STORE_FSYNC_NEVER, 0);
    REQUIRE(s);
    struct msg *m = fx_msg("e/1", "short", 1, 10, false, now.mono_ms);
    struct msg *k = fx_msg("e/2", "keep", 1, 0, false, now.mono_ms);
    uint64_t id = 0, kid = 0;
    store_msg_put(s, m, &now, &id);
    store_msg_put(s, k, &now, &kid);
    struct store_delivery d = {id, 1, false, 0, NULL};
    struct store_delivery kd = {kid, 1, false, 0, NULL};
    store_session_put(s, "gone", 20, 0, NULL, &now);
    store_session_offline(s, "gone", t0 / 1000);
    store_queue_put(s, "gone", &kd);
    store_session_put(s, "forever", UINT32_MAX, 0, NULL, &now);
    store_session_offline(s, "forever", t0 / 1000);
    store_session_put(s, "online", 1, 0, NULL, &now);
    store_queue_put(s, "forever", &d);
    store_queue_put(s, "forever", &kd);
    store_inflight_put(s, "online", 1, 1, &d);
    store_retain_put(s, "e/1", id);
    /* Five seconds later nothing has expired. */
    store_expire(s, t0 + 5000);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "sessions"), 3);
    CHECK_EQ_INT(store_test_count(s, "queue"), 3);
    /* At +30 s: "gone" (20 s offline) and the 10 s message's queued and retained references
     * are deleted; the in-flight reference keeps the body; the online session stays. */
    store_expire(s, t0 + 30000);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "sessions"), 2);
    CHECK_EQ_INT(store_test_count(s, "queue"), 1);
    CHECK_EQ_INT(store_test_count(s, "retained"), 0);
    CHECK_EQ_INT(store_test_count(s, "inflight"), 1);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 2);
    store_inflight_del(s, "online", 1);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 1);
    msg_unref(m);
    msg_unref(k);
    store_close(s);

    /* At load an hour later, the session that was online at the "crash" counts as seen at the
     * last commit, so its 1 s expiry has passed; "forever" stays. */
    s = fx_open(&f, STORE_FSYNC_NEVER, 0);
    REQUIRE(s);
    struct store_now later = now_at(t0 + HOUR_MS);
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &later), 0);
    CHECK(strcmp(r.text, "S forever e4294967295 w=- d0\nQ forever e/2|keep|q1r0|p q1r0[]\n") == 0);
    CHECK_EQ_INT(r.seen[0], t0 / 1000);
    CHECK_EQ_INT(store_test_count(s, "sessions"), 1);
    fx_rec_free(&r);
    store_close(s);
    fx_deinit(&f);
}

static void test_online_session_seen_at_last_commit(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = now_at(1000000);
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    store_session_put(s, "c", 600, 0, NULL, &now);
    CHECK_EQ_INT(store_flush(s), 0);
    store_close(s);
    s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    struct store_now real = store_now_read();
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &real), 0);
    CHECK_EQ_INT(r.n_sessions, 1);
    /* Put at wall 1000 s, but alive (committing) until about now. */
    CHECK(r.seen[0] > real.wall_ms / 1000 - 60 && r.seen[0] <= real.wall_ms / 1000);
    fx_rec_free(&r);
    store_close(s);
    fx_deinit(&f);
}

static void test_message_gc(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = store_now_read();
    struct store *s = fx_open(&f, STORE_FSYNC_NEVER, 0);
    REQUIRE(s);
    struct msg *m = fx_msg("g/1", "shared", 1, 0, false, now.mono_ms);
    uint64_t id = 0, rid = 0, orphan = 0;
    store_msg_put(s, m, &now, &id);
    struct store_delivery d = {id, 1, false, 0, NULL};
    store_queue_put(s, "a", &d);
    store_queue_put(s, "b", &d);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 1);
    store_queue_del(s, "a", id);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 1);
    store_queue_del(s, "b", id);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 0);

    /* A retained body survives its queue reference and goes with the retained entry. */
    store_msg_put(s, m, &now, &rid);
    struct store_delivery rd = {rid, 1, true, 0, NULL};
    store_retain_put(s, "g/1", rid);
    store_queue_put(s, "a", &rd);
    store_queue_del(s, "a", rid);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 1);
    store_retain_del(s, "g/1");
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 0);

    /* Never referenced: swept by the second store_expire() after the put. */
    store_msg_put(s, m, &now, &orphan);
    store_expire(s, now.wall_ms);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 1);
    store_expire(s, now.wall_ms);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 0);

    /* A dangling reference (body never stored) is skipped and deleted at load. */
    struct store_delivery bad = {orphan + 100, 1, false, 0, NULL};
    store_session_put(s, "a", 60, 0, NULL, &now);
    store_queue_put(s, "a", &bad);
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &now), 0);
    CHECK(strcmp(r.text, "S a e60 w=- d0\n") == 0);
    CHECK_EQ_INT(store_test_count(s, "queue"), 0);
    fx_rec_free(&r);
    msg_unref(m);
    store_close(s);
    fx_deinit(&f);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* Under sustained load (commits back to back, never the 1 s without writes that the idle
 * maintenance waits for) the WAL is still truncated and the pages freed by deleted rows are
 * still returned: the bounded maintenance after a commit every maint_ms (1 ms here). */
static void test_maintenance_under_load(void)
{
    enum { N = 600 };
    struct fx f;
    fx_init(&f);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f.path);
    struct store_now now = store_now_read();
    struct store *s = fx_open_maint(&f, STORE_FSYNC_ALWAYS, 0, 1);
    REQUIRE(s);
    static char payload[3001];
    memset(payload, 'x', 3000);
    struct msg *m = fx_msg("big", payload, 1, 0, false, now.mono_ms);
    char topic[32];
    store_test_hold(s, true); /* one batch: one commit */
    for (int i = 0; i < N; i++) {
        uint64_t id = 0;
        snprintf(topic, sizeof topic, "r/%d", i);
        store_msg_put(s, m, &now, &id);
        store_retain_put(s, topic, id);
    }
    store_test_hold(s, false);
    CHECK_EQ_INT(store_flush(s), 0);
    int64_t pages_full = store_test_count(s, "pages");
    CHECK(pages_full > N / 2);
    store_test_hold(s, true);
    for (int i = 0; i < N; i++) {
        snprintf(topic, sizeof topic, "r/%d", i);
        store_retain_del(s, topic);
    }
    store_test_hold(s, false);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 0);
    /* Load goes on: one commit after another. Each maintenance run frees at most 256 pages,
     * so it takes a few commits; the idle one would need a second without any. */
    int rounds = 0;
    while (rounds < 300 && (store_test_count(s, "freelist") > 0 || file_size(wal) > 65536)) {
        store_session_put(s, "tick", 10, 0, NULL, &now);
        CHECK_EQ_INT(store_flush(s), 0);
        rounds++;
    }
    CHECK_EQ_INT(store_test_count(s, "freelist"), 0);
    CHECK(file_size(wal) <= 65536);
    CHECK(store_test_count(s, "pages") < pages_full / 4);
    CHECK(rounds < 300);
    msg_unref(m);
    store_close(s);
    CHECK(file_size(f.path) < pages_full * 4096 / 4);
    fx_deinit(&f);
}

/* The commit-duration histogram (tern_store_commit_duration_seconds): every commit attempt is
 * in exactly one bucket, the time adds up, and the bounds increase. */
static void test_commit_histogram(void)
{
    struct fx f;
    fx_init(&f);
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    run_writers(s, 50);
    CHECK_EQ_INT(store_flush(s), 0);
    struct store_stats st;
    store_stats(s, &st);
    uint64_t n = 0;
    for (size_t i = 0; i <= STORE_COMMIT_BUCKETS; i++)
        n += st.commit_buckets[i];
    CHECK(st.commits >= 1);
    CHECK_EQ_INT(n, st.commits + st.failed_commits);
    CHECK(st.commit_ns > 0);
    for (size_t i = 1; i < STORE_COMMIT_BUCKETS; i++)
        CHECK(store_commit_bound_s(i) > store_commit_bound_s(i - 1));
    store_close(s);
    fx_deinit(&f);
}

/* store_inflight_move: the in-flight row appears and exactly one queue row of that message goes,
 * in one op (a crash between two separate ops restored the message twice, issue 7). */
static void test_inflight_move(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = store_now_read();
    struct store *s = fx_open(&f, STORE_FSYNC_NEVER, 0);
    REQUIRE(s);
    struct msg *m = fx_msg("mv/t", "body", 2, 0, false, now.mono_ms);
    uint64_t id = 0;
    store_session_put(s, "m", 60, 0, NULL, &now);
    store_msg_put(s, m, &now, &id);
    struct store_delivery d = {id, 2, false, 0, NULL};
    /* Queued twice (a retained message re-sent by a second SUBSCRIBE): one copy moves. */
    store_queue_put(s, "m", &d);
    store_queue_put(s, "m", &d);
    uint64_t seq = store_inflight_move(s, "m", 4, 1, &d);
    CHECK(seq > 0);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK(store_durable_seq(s) >= seq);
    CHECK_EQ_INT(store_test_count(s, "queue"), 1);
    CHECK_EQ_INT(store_test_count(s, "inflight"), 1);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 1);
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &now), 0);
    CHECK(strstr(r.text, "F m p4 s1 mv/t|body|") != NULL);
    CHECK(strstr(r.text, "Q m mv/t|body|") != NULL);
    fx_rec_free(&r);
    /* The second copy moves too; the queue is empty and the body is kept by the in-flight rows. */
    store_inflight_move(s, "m", 5, 1, &d);
    store_inflight_del(s, "m", 4);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "queue"), 0);
    CHECK_EQ_INT(store_test_count(s, "inflight"), 1);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 1);
    store_inflight_del(s, "m", 5);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 0);
    msg_unref(m);
    store_close(s);
    fx_deinit(&f);
}

/* Queue and in-flight rows written after a reopen sort after the earlier ones and do not
 * collide with them (their order key is the seq, which goes on from the stored rows). */
static void test_reopen_continues_order(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = store_now_read();
    const char *payloads[] = {"before-1", "before-2", "after-1", "after-2"};
    struct store *s = NULL;
    for (int run = 0; run < 2; run++) {
        s = fx_open(&f, STORE_FSYNC_NEVER, 0);
        REQUIRE(s);
        if (run == 0)
            store_session_put(s, "o", 600, 0, NULL, &now);
        for (int i = 0; i < 2; i++) {
            struct msg *m = fx_msg("o/t", payloads[run * 2 + i], 1, 0, false, now.mono_ms);
            uint64_t id = 0;
            store_msg_put(s, m, &now, &id);
            struct store_delivery d = {id, 1, false, 0, NULL};
            store_queue_put(s, "o", &d);
            /* Packet ids descending: the load order must come from the seq, not the id. */
            store_inflight_put(s, "o", (uint16_t)(100 - run * 2 - i), 1, &d);
            msg_unref(m);
        }
        CHECK_EQ_INT(store_flush(s), 0);
        if (run == 0)
            store_close(s);
    }
    CHECK_EQ_INT(fx_errors(&f), 0); /* no "invalid operation skipped" */
    CHECK_EQ_INT(store_test_count(s, "queue"), 4);
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &now), 0);
    const char *at = r.text;
    for (int i = 0; i < 4 && at; i++) { /* in-flight rows in write order */
        char want[64];
        snprintf(want, sizeof want, "F o p%d s1 o/t|%s|", 100 - i, payloads[i]);
        at = strstr(at, want);
        CHECK(at != NULL);
    }
    for (int i = 0; i < 4 && at; i++) { /* then the queue in write order */
        char want[64];
        snprintf(want, sizeof want, "Q o o/t|%s|", payloads[i]);
        at = strstr(at, want);
        CHECK(at != NULL);
    }
    fx_rec_free(&r);
    store_close(s);
    fx_deinit(&f);
}

static void *flush_thread(void *arg)
{
    store_flush(arg);
    return NULL;
}

/* A group's ops are committed together: while it is open the store commits none of them
 * (a flusher waiting for them cannot finish), after store_group_end all of them at once. */
static void test_group_not_split(void)
{
    struct fx f;
    fx_init(&f);
    struct store_now now = store_now_read();
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    store_group_begin(s);
    uint64_t seq1 = store_session_put(s, "g", 60, 0, NULL, &now);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, flush_thread, s) == 0);
    /* Absence of a commit can only be observed over a bounded wait. */
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 200000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    CHECK_EQ_INT(pthread_timedjoin_np(t, NULL, &dl), ETIMEDOUT);
    CHECK(store_durable_seq(s) < seq1);
    uint64_t seq2 = store_sub_put(s, "g", "a/b", 1, 0);
    store_group_end(s);
    CHECK_EQ_INT(pthread_join(t, NULL), 0);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK(store_durable_seq(s) >= seq2);
    CHECK_EQ_INT(store_test_count(s, "subs"), 1);
    /* A group that writes nothing takes no lock and blocks nothing. */
    store_group_begin(s);
    store_group_end(s);
    store_sub_del(s, "g", "a/b");
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "subs"), 0);
    store_close(s);
    fx_deinit(&f);
}

UNIT_MAIN(UNIT_TEST(test_commit_histogram), UNIT_TEST(test_roundtrip_every_kind),
          UNIT_TEST(test_updates_and_cascades), UNIT_TEST(test_group_commit_four_threads),
          UNIT_TEST(test_always_notifies_without_flush),
          UNIT_TEST(test_interval_waits_then_commits), UNIT_TEST(test_never_commits_and_persists),
          UNIT_TEST(test_expiry), UNIT_TEST(test_online_session_seen_at_last_commit),
          UNIT_TEST(test_message_gc), UNIT_TEST(test_inflight_move),
          UNIT_TEST(test_reopen_continues_order), UNIT_TEST(test_group_not_split),
          UNIT_TEST(test_maintenance_under_load))
