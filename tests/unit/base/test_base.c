/* Unit tests for src/base: buffers, lists, the allocator's fault injection, error names, log
 * timestamps (epoch seconds or log_timestamp_format). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "list.h"
#include "log.h"
#include "mem.h"
#include "unit.h"

static void test_buf_append_consume(void)
{
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        REQUIRE(buf_append(&b, "abc", 3) == 0);
    CHECK_EQ_INT(b.len, 3000);
    buf_consume(&b, 2999);
    CHECK_EQ_INT(b.len, 1);
    CHECK(b.data[0] == 'c');
    buf_consume(&b, 10);
    CHECK_EQ_INT(b.len, 0);
    buf_deinit(&b);
}

static void test_mem_fault_injection(void)
{
    size_t before = mem_in_use();
    mem_fail_at(2);
    void *a = mem_alloc(10);
    void *b = mem_alloc(10);
    void *c = mem_alloc(10);
    mem_fail_at(0);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK(c != NULL);
    CHECK(mem_in_use() > before);
    mem_free(a);
    mem_free(c);
    CHECK_EQ_INT(mem_in_use(), before);
}

static void test_buf_reserve_fails_cleanly(void)
{
    struct buf b;
    buf_init(&b);
    mem_fail_at(1);
    CHECK_EQ_INT(buf_append(&b, "x", 1), TERN_ENOMEM);
    mem_fail_at(0);
    CHECK_EQ_INT(b.len, 0);
    CHECK(buf_append(&b, "x", 1) == 0);
    buf_deinit(&b);
}

struct item {
    int v;
    struct list_node node;
};

static void test_list(void)
{
    struct list_node head, *it, *tmp;
    struct item items[3] = {{1, {0}}, {2, {0}}, {3, {0}}};
    list_init(&head);
    CHECK(list_empty(&head));
    for (int i = 0; i < 3; i++)
        list_insert_tail(&head, &items[i].node);
    int sum = 0, order = 0;
    LIST_FOREACH (it, tmp, &head) {
        struct item *x = LIST_ENTRY(it, struct item, node);
        order = order * 10 + x->v;
        sum += x->v;
        if (x->v == 2)
            list_remove(it);
    }
    CHECK_EQ_INT(order, 123);
    CHECK_EQ_INT(sum, 6);
    CHECK(!list_linked(&items[1].node));
    CHECK(head.next == &items[0].node && items[0].node.next == &items[2].node);
}

/* Order of the values along head, as decimal digits; walks prev links too (must mirror). */
static int list_digits(struct list_node *head)
{
    int fwd = 0, back = 0, mul = 1;
    struct list_node *it, *tmp;
    LIST_FOREACH (it, tmp, head)
        fwd = fwd * 10 + LIST_ENTRY(it, struct item, node)->v;
    for (it = head->prev; it != head; it = it->prev, mul *= 10)
        back += LIST_ENTRY(it, struct item, node)->v * mul;
    return fwd == back ? fwd : -1;
}

static void test_list_splice(void)
{
    struct list_node a, b;
    struct item items[4] = {{1, {0}}, {2, {0}}, {3, {0}}, {4, {0}}};
    list_init(&a);
    list_init(&b);
    list_splice_tail(&a, &b); /* empty into empty */
    CHECK(list_empty(&a) && list_empty(&b));
    list_insert_tail(&a, &items[0].node);
    list_insert_tail(&b, &items[1].node);
    list_insert_tail(&b, &items[2].node);
    list_splice_tail(&a, &b);
    CHECK(list_empty(&b));
    CHECK_EQ_INT(list_digits(&a), 123);
    list_insert_tail(&b, &items[3].node);
    list_splice_tail(&a, &b);
    CHECK_EQ_INT(list_digits(&a), 1234);
    struct list_node c;
    list_init(&c);
    list_splice_tail(&c, &a); /* into an empty list */
    CHECK(list_empty(&a));
    CHECK_EQ_INT(list_digits(&c), 1234);
}

static void test_err_names(void)
{
    CHECK(strcmp(tern_err_name(TERN_EPROTO), "TERN_EPROTO") == 0);
    CHECK(strcmp(tern_strerror(TERN_ENOMEM), "out of memory") == 0);
    CHECK(strcmp(tern_err_name(-999), "TERN_E?") == 0);
}

/* Without log_timestamp_format a line starts with the seconds since the epoch (Mosquitto's
 * default); with it, with strftime's rendering of the local time; "" restores the default. */
static void test_log_timestamp_format(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct log lg;
    log_init(&lg);
    char out[256];
    const long long t = 1700000000; /* 2023-11-14T22:13:20Z */
    size_t n = log_format_timestamp(&lg, t, out, sizeof out);
    CHECK(strcmp(out, "1700000000: ") == 0);
    CHECK_EQ_INT(n, strlen("1700000000: "));
    REQUIRE(log_set_timestamp_format(&lg, "%Y-%m-%dT%H:%M:%S") == 0);
    n = log_format_timestamp(&lg, t, out, sizeof out);
    CHECK(strcmp(out, "2023-11-14T22:13:20: ") == 0);
    CHECK_EQ_INT(n, strlen(out));
    /* A replaced format is kept (another thread may be using it) and freed by log_deinit. */
    REQUIRE(log_set_timestamp_format(&lg, "[%%]") == 0);
    log_format_timestamp(&lg, t, out, sizeof out);
    CHECK(strcmp(out, "[%]: ") == 0);
    /* A rendering that does not fit falls back to the epoch seconds. */
    char small[8];
    log_format_timestamp(&lg, 5, small, sizeof small);
    CHECK(strcmp(small, "[%]: ") == 0);
    REQUIRE(log_set_timestamp_format(&lg, "%Y%Y%Y%Y") == 0);
    log_format_timestamp(&lg, 5, small, sizeof small);
    CHECK(strcmp(small, "5: ") == 0);
    REQUIRE(log_set_timestamp_format(&lg, "") == 0);
    log_format_timestamp(&lg, t, out, sizeof out);
    CHECK(strcmp(out, "1700000000: ") == 0);
    mem_fail_at(1);
    CHECK_EQ_INT(log_set_timestamp_format(&lg, "%H"), TERN_ENOMEM);
    mem_fail_at(0);
    log_format_timestamp(&lg, t, out, sizeof out);
    CHECK(strcmp(out, "1700000000: ") == 0); /* the format in force is kept */
    log_deinit(&lg);
}

struct sink_seen {
    int calls;
    enum log_level level;
    char line[128];
};

static void sink(void *ctx, enum log_level level, const char *line, size_t len)
{
    struct sink_seen *seen = ctx;
    seen->calls++;
    seen->level = level;
    snprintf(seen->line, sizeof seen->line, "%.*s", (int)len, line);
}

/* LOG_DEST_TOPIC hands each line (timestamp included, no newline) to the sink; without the
 * destination or without a sink nothing reaches it. */
static void test_log_sink(void)
{
    struct log lg;
    struct sink_seen seen = {0};
    log_init(&lg);
    atomic_store(&lg.timestamps, 0);
    atomic_store(&lg.dests, LOG_DEST_TOPIC);
    log_msg(&lg, TLOG_WARN, "no sink yet");
    log_set_sink(&lg, sink, &seen);
    log_msg(&lg, TLOG_WARN, "to the %s", "sink");
    CHECK_EQ_INT(seen.calls, 1);
    CHECK_EQ_INT(seen.level, TLOG_WARN);
    CHECK(strcmp(seen.line, "to the sink") == 0);
    atomic_store(&lg.dests, 0);
    log_msg(&lg, TLOG_WARN, "not to the sink");
    CHECK_EQ_INT(seen.calls, 1);
    log_deinit(&lg);
}

/* log_facility 0..7 selects local0..local7; otherwise daemon (Mosquitto's default). */
static void test_log_syslog_facility(void)
{
    CHECK_EQ_INT(log_syslog_facility(-1), LOG_DAEMON);
    CHECK_EQ_INT(log_syslog_facility(0), LOG_LOCAL0);
    CHECK_EQ_INT(log_syslog_facility(5), LOG_LOCAL5);
    CHECK_EQ_INT(log_syslog_facility(7), LOG_LOCAL7);
    CHECK_EQ_INT(log_syslog_facility(8), LOG_DAEMON);
}

UNIT_MAIN(UNIT_TEST(test_buf_append_consume), UNIT_TEST(test_mem_fault_injection),
          UNIT_TEST(test_buf_reserve_fails_cleanly), UNIT_TEST(test_list),
          UNIT_TEST(test_list_splice), UNIT_TEST(test_err_names),
          UNIT_TEST(test_log_timestamp_format), UNIT_TEST(test_log_sink),
          UNIT_TEST(test_log_syslog_facility))
