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

/* A store as builds of schema version 1 wrote it (their migration 0, frozen here, in WAL mode
 * set before auto_vacuum, so without auto_vacuum), holding one of each kind of row. */
static void write_v1_store(const char *path)
{
    static const char v1[] =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
        "INSERT INTO meta VALUES('alive_s', 0);"
        "CREATE TABLE msgs(id INTEGER PRIMARY KEY, topic BLOB NOT NULL, payload BLOB NOT NULL,"
        " props BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,"
        " expiry_ms INTEGER NOT NULL);"
        "CREATE INDEX msgs_expiry ON msgs(expiry_ms) WHERE expiry_ms <> 0;"
        "CREATE TABLE sessions(client_id BLOB PRIMARY KEY, expiry_s INTEGER NOT NULL,"
        " online INTEGER NOT NULL, seen_s INTEGER NOT NULL, will_topic BLOB, will_payload BLOB,"
        " will_props BLOB, will_qos INTEGER, will_retain INTEGER, will_delay_s INTEGER,"
        " will_expiry_ms INTEGER);"
        "CREATE TABLE subs(client_id BLOB NOT NULL, filter BLOB NOT NULL, options INTEGER NOT "
        "NULL, sub_id INTEGER NOT NULL, PRIMARY KEY(client_id, filter)) WITHOUT ROWID;"
        "CREATE TABLE queue(ord INTEGER PRIMARY KEY, client_id BLOB NOT NULL,"
        " msg_id INTEGER NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,"
        " sub_ids BLOB NOT NULL);"
        "CREATE INDEX queue_client ON queue(client_id, ord);"
        "CREATE INDEX queue_msg ON queue(msg_id);"
        "CREATE TABLE inflight(client_id BLOB NOT NULL, packet_id INTEGER NOT NULL,"
        " ord INTEGER NOT NULL, msg_id INTEGER NOT NULL, qos INTEGER NOT NULL,"
        " retain INTEGER NOT NULL, state INTEGER NOT NULL, sub_ids BLOB NOT NULL,"
        " PRIMARY KEY(client_id, packet_id));"
        "CREATE INDEX inflight_msg ON inflight(msg_id);"
        "CREATE TABLE qos2(client_id BLOB NOT NULL, packet_id INTEGER NOT NULL,"
        " PRIMARY KEY(client_id, packet_id)) WITHOUT ROWID;"
        "CREATE TABLE retained(topic BLOB PRIMARY KEY, msg_id INTEGER NOT NULL);"
        "CREATE INDEX retained_msg ON retained(msg_id);"
        "PRAGMA user_version=1;"
        "INSERT INTO msgs VALUES(1, CAST('q/t' AS BLOB), CAST('queued' AS BLOB), x'', 1, 0, 0);"
        "INSERT INTO msgs VALUES(2, CAST('q/t' AS BLOB), CAST('sent' AS BLOB), x'', 2, 0, 0);"
        "INSERT INTO msgs VALUES(3, CAST('r/t' AS BLOB), CAST('kept' AS BLOB), x'', 0, 1, 0);"
        "INSERT INTO sessions VALUES(CAST('c1' AS BLOB), 600, 0, strftime('%s','now'),"
        " CAST('w/t' AS BLOB), CAST('bye' AS BLOB), x'', 1, 0, 30, 0);"
        "INSERT INTO subs VALUES(CAST('c1' AS BLOB), CAST('q/#' AS BLOB), 2, 7);"
        "INSERT INTO queue VALUES(11, CAST('c1' AS BLOB), 1, 1, 0, x'00000007');"
        "INSERT INTO inflight VALUES(CAST('c1' AS BLOB), 3, 10, 2, 2, 0, 2, x'');"
        "INSERT INTO qos2 VALUES(CAST('c1' AS BLOB), 9);"
        "INSERT INTO retained VALUES(CAST('r/t' AS BLOB), 3);";
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, v1, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "v1 fixture: %s\n", err ? err : "?");
    sqlite3_free(err);
    REQUIRE(rc == SQLITE_OK);
    sqlite3_close(db);
}

static int64_t pragma_of(const char *path, const char *pragma)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, pragma, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Opening a version 1 store that holds data runs the migrations on it (1 -> 2: the sessions'
 * protocol version) and the auto_vacuum conversion: every row survives, old sessions report
 * no version (0), and new ones record theirs. */
static void test_migrate_v1_with_data(void)
{
    struct fx f;
    fx_init(&f);
    write_v1_store(f.path);
    CHECK_EQ_INT(pragma_of(f.path, "PRAGMA auto_vacuum"), 0);
    struct store *s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    CHECK_EQ_INT(fx_errors(&f), 0);
    struct store_now now = store_now_read();
    struct fx_rec r;
    CHECK_EQ_INT(fx_load(s, &r, &now), 0);
    const char *want = "S c1 e600 w=w/t|bye|q1r0|p d30\n"
                       "B c1 q/# o2 i7\n"
                       "F c1 p3 s2 q/t|sent|q2r0|p q2r0[]\n"
                       "Q c1 q/t|queued|q1r0|p q1r0[7]\n"
                       "2 c1 p9\n"
                       "R r/t r/t|kept|q0r1|p\n";
    if (strcmp(r.text, want) != 0)
        fprintf(stderr, "got:\n%s", r.text);
    CHECK(strcmp(r.text, want) == 0);
    fx_rec_free(&r);
    /* Seqs go on after the migrated rows, and the new column is written. */
    uint64_t seq = store_session_put(s, "c2", 60, 4, NULL, &now);
    CHECK(seq > 11);
    CHECK_EQ_INT(store_flush(s), 0);
    store_close(s);
    CHECK_EQ_INT(pragma_of(f.path, "PRAGMA user_version"), 2);
    CHECK_EQ_INT(pragma_of(f.path, "PRAGMA auto_vacuum"), 2);
    s = fx_open(&f, STORE_FSYNC_ALWAYS, 0);
    REQUIRE(s);
    CHECK_EQ_INT(fx_load(s, &r, &now), 0);
    CHECK(strstr(r.text, "S c2 e60 w=- d0 v4\n") != NULL);
    CHECK(strstr(r.text, "Q c1 q/t|queued|q1r0|p q1r0[7]\n") != NULL);
    fx_rec_free(&r);
    store_close(s);
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
          UNIT_TEST(test_future_version), UNIT_TEST(test_migrate_v1_with_data),
          UNIT_TEST(test_foreign_database), UNIT_TEST(test_unwritable_location),
          UNIT_TEST(test_write_error_disk_full), UNIT_TEST(test_fsync_error))
