/* Unit tests for the store's bad-file and I/O-error behaviour: garbage, truncated and
 * future-version files are renamed aside with a UTC timestamp and a fresh store starts; an
 * unwritable location fails store_open; injected write (disk full) and fsync errors leave seqs
 * not durable, are reported, and the store recovers once the fault clears. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "msg.h"
#include "store.h"
#include "store_fixture.h"
#include "unit.h"

/* True when name is "t.db.corrupt-YYYYMMDDTHHMMSSZ" (optionally ".N"). */
static bool stamped(const char *name)
{
    const char *p = "t.db.corrupt-";
    if (strncmp(name, p, strlen(p)) != 0)
        return false;
    const char *t = name + strlen(p);
    for (int i = 0; i < 16; i++) {
        bool ok = i == 8 ? t[i] == 'T' : i == 15 ? t[i] == 'Z' : (t[i] >= '0' && t[i] <= '9');
        if (!ok)
            return false;
    }
    return t[16] == '\0' || t[16] == '.';
}

/* Opens the store at f->path expecting it to have been renamed aside: a fresh empty store,
 * one loud report, one stamped file holding want[0..wantlen) when want is non-NULL. */
static void expect_renamed(struct fx *f, const void *want, size_t wantlen)
{
    struct store *s = fx_open(f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    CHECK_EQ_INT(fx_errors(f), 1);
    CHECK(strstr(f->last_error, "renamed aside") != NULL);
    CHECK(strstr(f->last_error, "EMPTY") != NULL);
    CHECK_EQ_INT(store_test_count(s, "sessions"), 0);
    CHECK_EQ_INT(store_test_count(s, "msgs"), 0);
    /* The fresh store works. */
    struct store_now now = store_now_read();
    store_session_put(s, "after", 10, 0, NULL, &now);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK_EQ_INT(store_test_count(s, "sessions"), 1);
    store_close(s);
    /* Exactly one main file is set aside (its -wal / -shm, if any, carry the same stamp). */
    char main_name[256] = "";
    CHECK_EQ_INT(fx_count_prefix(f->dir, "t.db.corrupt-", main_name, sizeof main_name), 1);
    CHECK(stamped(main_name));
    if (want) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", f->dir, main_name);
        FILE *fp = fopen(p, "rb");
        REQUIRE(fp);
        static char got[65536];
        size_t n = fread(got, 1, sizeof got, fp);
        fclose(fp);
        CHECK_MEM(got, n, want, wantlen);
    }
}

static void test_garbage_file(void)
{
    struct fx f;
    fx_init(&f);
    static char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 131u + 7u);
    FILE *fp = fopen(f.path, "wb");
    REQUIRE(fp);
    fwrite(junk, 1, sizeof junk, fp);
    fclose(fp);
    expect_renamed(&f, junk, sizeof junk);
    fx_deinit(&f);
}

static void test_truncated_file(void)
{
    struct fx f;
    fx_init(&f);
    struct store *s = fx_open(&f, STORE_FSYNC_NEVER, 0);
    REQUIRE(s);
    struct store_now now = store_now_read();
    char payload[300];
    memset(payload, 'x', sizeof payload - 1);
    payload[sizeof payload - 1] = '\0';
    for (int i = 0; i < 400; i++) {
        char topic[32];
        snprintf(topic, sizeof topic, "t/%d", i);
        struct msg *m = fx_msg(topic, payload, 1, 0, false, now.mono_ms);
        uint64_t id = 0;
        store_msg_put(s, m, &now, &id);
        store_retain_put(s, topic, id);
        msg_unref(m);
    }
    CHECK_EQ_INT(store_flush(s), 0);
    store_close(s);
    struct stat st;
    REQUIRE(stat(f.path, &st) == 0);
    REQUIRE(st.st_size > 65536);
    REQUIRE(truncate(f.path, st.st_size / 2) == 0);
    expect_renamed(&f, NULL, 0);
    fx_deinit(&f);
}

static void test_future_version(void)
{
    struct fx f;
    fx_init(&f);
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    store_close(s);
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(f.path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    expect_renamed(&f, NULL, 0);
    fx_deinit(&f);
}

static void test_foreign_database(void)
{
    struct fx f;
    fx_init(&f);
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(f.path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE other(x)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    expect_renamed(&f, NULL, 0);
    fx_deinit(&f);
}

static void test_unwritable_location(void)
{
    struct store_opts o = {
        "/nonexistent-tern-dir/x/t.db", STORE_FSYNC_ALWAYS, 0, 0, NULL, NULL, NULL, NULL, 0};
    char err[256] = "";
    struct store *s = store_open(&o, err, sizeof err);
    CHECK(s == NULL);
    CHECK(strstr(err, "nonexistent-tern-dir") != NULL);
    store_close(s);
}

/* Faults one write or fsync, checks nothing is acknowledged, then recovers. */
static void fault_round(enum store_fail mode)
{
    struct fx f;
    fx_init(&f);
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    struct store_now now = store_now_read();
    uint64_t ok = store_session_put(s, "before", 10, 0, NULL, &now);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK(store_durable_seq(s) >= ok);

    store_test_fail_io(mode);
    /* Held so that both ops are in the first failing batch. */
    store_test_hold(s, true);
    uint64_t a = store_session_put(s, "during", 10, 0, NULL, &now);
    uint64_t b = store_qos2_put(s, "during", 7);
    store_test_hold(s, false);
    CHECK(fx_wait_errors(&f, 1, 10000));
    CHECK(strstr(f.last_error, "COMMIT FAILED") != NULL);
    CHECK(store_durable_seq(s) < a);
    CHECK(store_failed_seq(s) >= b);
    CHECK_EQ_INT(store_flush(s), TERN_EIO);
    struct store_stats st;
    store_stats(s, &st);
    CHECK(st.failed_commits >= 1);
    CHECK(st.last_err != 0);
    /* Later ops queue behind the failed batch: not durable either. */
    uint64_t c = store_qos2_put(s, "during", 8);
    CHECK(store_durable_seq(s) < c);

    store_test_fail_io(STORE_FAIL_NONE);
    CHECK_EQ_INT(store_flush(s), 0);
    CHECK(store_durable_seq(s) >= c);
    CHECK_EQ_INT(store_failed_seq(s), 0);
    store_close(s);

    s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &now), 0);
    CHECK(strcmp(r.text, "S before e10 w=- d0\nS during e10 w=- d0\n2 during p7\n2 during p8\n") ==
          0);
    fx_rec_free(&r);
    store_close(s);
    fx_deinit(&f);
}

static void test_write_error_disk_full(void)
{
    fault_round(STORE_FAIL_WRITE);
}

static void test_fsync_error(void)
{
    fault_round(STORE_FAIL_SYNC);
}

UNIT_MAIN(UNIT_TEST(test_garbage_file), UNIT_TEST(test_truncated_file),
          UNIT_TEST(test_future_version), UNIT_TEST(test_foreign_database),
          UNIT_TEST(test_unwritable_location), UNIT_TEST(test_write_error_disk_full),
          UNIT_TEST(test_fsync_error))
