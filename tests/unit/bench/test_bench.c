/* Unit tests of the load generator's pure parts: the log-linear histogram, the payload stamp,
 * option parsing, PUBLISH templates (checked against the codec's decoder), the stream
 * splitter and the /proc parsers. The socket engine is covered by the bench_smoke test. */
#include <string.h>

#include "bench_hist.h"
#include "bench_opts.h"
#include "bench_proc.h"
#include "bench_report.h"
#include "bench_stamp.h"
#include "bench_wire.h"
#include "codec.h"
#include "mem.h"
#include "unit.h"

static struct bench_hist hist_a, hist_b;

static void test_hist_small_values_exact(void)
{
    struct bench_hist *h = &hist_a;
    bench_hist_reset(h);
    for (uint64_t v = 1; v <= 100; v++)
        bench_hist_record(h, v);
    CHECK_EQ_INT(h->count, 100);
    CHECK_EQ_INT(bench_hist_quantile(h, 0.5), 50);
    CHECK_EQ_INT(bench_hist_quantile(h, 0.99), 99);
    CHECK_EQ_INT(bench_hist_quantile(h, 1.0), 100);
    CHECK_EQ_INT(bench_hist_quantile(h, 0.0), 1);
    CHECK(bench_hist_mean(h) > 50.49 && bench_hist_mean(h) < 50.51);
}

static void test_hist_buckets_cover_without_gaps(void)
{
    uint64_t prev_hi = 0;
    for (uint32_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        bench_hist_bucket_range(i, &lo, &hi);
        if (i > 0)
            CHECK_EQ_INT(lo, prev_hi + 1);
        CHECK_EQ_INT(bench_hist_index(lo), i);
        CHECK_EQ_INT(bench_hist_index(hi), i);
        /* Bucket width stays within 1/128 of its values: the precision promise. */
        CHECK((hi - lo) * BENCH_HIST_SUB <= lo || lo < BENCH_HIST_SUB);
        prev_hi = hi;
        if (unit_failures)
            return;
    }
    CHECK_EQ_INT(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
}

static void test_hist_large_values_relative_error(void)
{
    struct bench_hist *h = &hist_a;
    bench_hist_reset(h);
    /* 1000 values 1 us .. 1 ms; p99 must be within 1 % of 990 us. */
    for (uint64_t i = 1; i <= 1000; i++)
        bench_hist_record(h, i * 1000);
    uint64_t p99 = bench_hist_quantile(h, 0.99);
    CHECK(p99 >= 990000 && p99 <= 990000 * 1.01);
    uint64_t p50 = bench_hist_quantile(h, 0.5);
    CHECK(p50 >= 500000 && p50 <= 500000 * 1.01);
    CHECK_EQ_INT(bench_hist_quantile(h, 1.0), 1000000);
    CHECK_EQ_INT(h->min, 1000);
}

static void test_hist_merge_and_empty(void)
{
    bench_hist_reset(&hist_a);
    bench_hist_reset(&hist_b);
    CHECK_EQ_INT(bench_hist_quantile(&hist_a, 0.5), 0);
    bench_hist_record(&hist_a, 10);
    bench_hist_record(&hist_b, 5);
    bench_hist_record(&hist_b, 20);
    bench_hist_merge(&hist_a, &hist_b);
    CHECK_EQ_INT(hist_a.count, 3);
    CHECK_EQ_INT(hist_a.min, 5);
    CHECK_EQ_INT(hist_a.max, 20);
    CHECK_EQ_INT(bench_hist_quantile(&hist_a, 0.5), 10);
}

static void test_stamp_layout(void)
{
    uint8_t p[BENCH_STAMP_LEN];
    struct bench_stamp s = {0x0102030405060708ull, 0x0a0b0c0d, 0x11223344}, t;
    static const uint8_t want[BENCH_STAMP_LEN] = {1,    2,    3,    4,    5,    6,    7,    8,
                                                  0x0a, 0x0b, 0x0c, 0x0d, 0x11, 0x22, 0x33, 0x44};
    bench_stamp_put(p, &s);
    CHECK_MEM(p, sizeof p, want, sizeof want);
    REQUIRE(bench_stamp_get(p, sizeof p, &t) == 0);
    CHECK(t.sent_ns == s.sent_ns);
    CHECK_EQ_INT(t.pub, s.pub);
    CHECK_EQ_INT(t.seq, s.seq);
    CHECK_EQ_INT(bench_stamp_get(p, BENCH_STAMP_LEN - 1, &t), TERN_EPROTO);
}

static int parse(struct bench_opts *o, char *err, const char *const *args, int n)
{
    char *argv[32];
    for (int i = 0; i < n; i++)
        argv[i] = (char *)args[i];
    return bench_opts_parse(o, n, argv, err, 200);
}

static void test_opts_defaults(void)
{
    struct bench_opts o;
    char err[200];
    static const char *const a[] = {"bench", "fanout"};
    REQUIRE(parse(&o, err, a, 2) == 0);
    CHECK_EQ_INT(o.kind, BENCH_FANOUT);
    CHECK_EQ_INT(o.pubs, 1);
    CHECK_EQ_INT(o.subs, 50);
    CHECK_EQ_INT(o.port, 1883);
    CHECK_EQ_INT(o.version, 4);
    CHECK_EQ_INT(o.window, 64);
    CHECK_EQ_INT(o.payload, BENCH_STAMP_LEN);
    static const char *const l[] = {"bench", "latency"};
    REQUIRE(parse(&o, err, l, 2) == 0);
    CHECK_EQ_INT(o.pubs, 100);
    CHECK_EQ_INT(o.subs, 100);
    CHECK(o.rate == 10000);
    static const char *const f[] = {"bench", "fanin", "-q", "2"};
    REQUIRE(parse(&o, err, f, 4) == 0);
    CHECK_EQ_INT(o.window, 16); /* 50 publishers share one subscriber's queue */
}

static void test_opts_values(void)
{
    struct bench_opts o;
    char err[200];
    static const char *const a[] = {"bench",  "pairs",        "-p", "1999", "--mqtt", "5",  "-q",
                                    "1",      "-P",           "7",  "-s",   "1024",   "-w", "3",
                                    "--json", "--broker-pid", "42", "-d",   "0.5"};
    REQUIRE(parse(&o, err, a, 19) == 0);
    CHECK_EQ_INT(o.port, 1999);
    CHECK_EQ_INT(o.version, 5);
    CHECK_EQ_INT(o.qos, 1);
    CHECK_EQ_INT(o.pubs, 7);
    CHECK_EQ_INT(o.subs, 7); /* pairs: one subscriber per publisher */
    CHECK_EQ_INT(o.payload, 1024);
    CHECK_EQ_INT(o.window, 3);
    CHECK_EQ_INT(o.broker_pid, 42);
    CHECK(o.json);
    CHECK(o.duration_s == 0.5);
    static const char *const v3[] = {"bench", "idle", "--mqtt", "3", "-n", "5"};
    REQUIRE(parse(&o, err, v3, 6) == 0);
    CHECK_EQ_INT(o.version, 4);
    CHECK_EQ_INT(o.count, 5);
}

static void test_opts_errors(void)
{
    struct bench_opts o;
    char err[200];
    static const char *const none[] = {"bench"};
    static const char *const bad_kind[] = {"bench", "fanot"};
    static const char *const bad_qos[] = {"bench", "fanout", "-q", "3"};
    static const char *const small[] = {"bench", "fanout", "-s", "15"};
    static const char *const missing[] = {"bench", "fanout", "-p"};
    static const char *const junk[] = {"bench", "fanout", "-p", "12x"};
    static const char *const unknown[] = {"bench", "fanout", "--frob"};
    static const char *const zero[] = {"bench", "subscale", "-n", "0"};
    CHECK_EQ_INT(parse(&o, err, none, 1), TERN_EINVAL);
    CHECK_EQ_INT(parse(&o, err, bad_kind, 2), TERN_EINVAL);
    CHECK(strstr(err, "fanot") != NULL);
    CHECK_EQ_INT(parse(&o, err, bad_qos, 4), TERN_EINVAL);
    CHECK_EQ_INT(parse(&o, err, small, 4), TERN_EINVAL);
    CHECK_EQ_INT(parse(&o, err, missing, 3), TERN_EINVAL);
    CHECK_EQ_INT(parse(&o, err, junk, 4), TERN_EINVAL);
    CHECK_EQ_INT(parse(&o, err, unknown, 3), TERN_EINVAL);
    CHECK(strstr(err, "--frob") != NULL);
    CHECK_EQ_INT(parse(&o, err, zero, 4), TERN_EINVAL);
    static const char *const help[] = {"bench", "--help"};
    CHECK_EQ_INT(parse(&o, err, help, 2), 0);
    CHECK(o.help);
}

/* A patched template must decode with the project codec to the expected PUBLISH. */
static void check_tmpl(uint8_t version, uint8_t qos)
{
    struct bench_tmpl t;
    struct mqtt_packet p;
    uint8_t reason = 0, buf[256];
    REQUIRE(bench_wire_tmpl_init(&t, bytes_str("tb/s/0000000"), 7, qos, true, 40, version) == 0);
    REQUIRE(t.len <= sizeof buf);
    memcpy(buf, t.data, t.len);
    struct bench_stamp s = {123456789, 3, 77}, got;
    bench_stamp_put(buf + t.stamp_off, &s);
    bench_wire_tmpl_digits(&t, buf, 4242);
    if (qos) {
        buf[t.pid_off] = 0x12;
        buf[t.pid_off + 1] = 0x34;
    }
    int n = codec_decode(buf, t.len, version, MQTT_MAX_PACKET_SIZE, &p, &reason);
    CHECK_EQ_INT(n, (int)t.len);
    CHECK_EQ_INT(p.type, MQTT_PUBLISH);
    CHECK(bytes_eq_str(p.u.publish.topic, "tb/s/0004242"));
    CHECK_EQ_INT(p.u.publish.qos, qos);
    CHECK(p.u.publish.retain);
    CHECK_EQ_INT(p.u.publish.packet_id, qos ? 0x1234 : 0);
    CHECK_EQ_INT(p.u.publish.payload.len, 40);
    CHECK_EQ_INT(bench_stamp_get(p.u.publish.payload.ptr, p.u.publish.payload.len, &got), 0);
    CHECK_EQ_INT(got.seq, 77);
    /* The receive-side parser finds the same payload. */
    struct bench_frame f;
    struct bench_rx_publish rx;
    CHECK_EQ_INT(bench_wire_frame(buf, t.len, &f), (int)t.len);
    REQUIRE(bench_wire_publish(&f, version, &rx) == 0);
    CHECK(rx.payload == p.u.publish.payload.ptr);
    CHECK_EQ_INT(rx.packet_id, qos ? 0x1234 : 0);
    bench_wire_tmpl_deinit(&t);
}

static void test_wire_templates(void)
{
    for (uint8_t q = 0; q <= 2; q++) {
        check_tmpl(4, q);
        check_tmpl(5, q);
    }
    CHECK_EQ_INT(mem_in_use(), 0);
}

static void test_wire_frame_and_acks(void)
{
    uint8_t a[4];
    struct bench_frame f;
    bench_wire_ack(a, MQTT_PUBREL, 0xbeef);
    static const uint8_t pubrel[4] = {0x62, 2, 0xbe, 0xef};
    CHECK_MEM(a, 4, pubrel, 4);
    CHECK_EQ_INT(bench_wire_frame(a, 1, &f), TERN_EAGAIN);
    CHECK_EQ_INT(bench_wire_frame(a, 3, &f), TERN_EAGAIN);
    CHECK_EQ_INT(bench_wire_frame(a, 4, &f), 4);
    CHECK_EQ_INT(f.type, MQTT_PUBREL);
    CHECK_EQ_INT(f.flags, 2);
    static const uint8_t bad[6] = {0x30, 0xff, 0xff, 0xff, 0xff, 0x7f};
    CHECK_EQ_INT(bench_wire_frame(bad, sizeof bad, &f), TERN_EPROTO);
    uint8_t conn[64];
    size_t n = bench_wire_connect(conn, sizeof conn, 5, "tb-1-2", true);
    struct mqtt_packet p;
    uint8_t reason;
    REQUIRE(n > 0);
    CHECK_EQ_INT(codec_decode(conn, n, 5, MQTT_MAX_PACKET_SIZE, &p, &reason), (int)n);
    CHECK(!p.u.connect.clean_start);
    CHECK_EQ_INT(p.u.connect.props.session_expiry, 3600);
}

static void test_proc_parsers(void)
{
    uint64_t ticks = 0, rss = 0;
    const char *stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 "
                       "250 50 0 0 20 0 1 0 100 1000 200";
    CHECK_EQ_INT(bench_proc_parse_stat(stat, &ticks), 0);
    CHECK_EQ_INT(ticks, 300);
    CHECK_EQ_INT(bench_proc_parse_stat("1234 (x) S 1 2", &ticks), TERN_EPROTO);
    CHECK_EQ_INT(bench_proc_parse_status("Name:\tx\nVmRSS:\t   5120 kB\n", &rss), 0);
    CHECK_EQ_INT(rss, 5120);
    CHECK_EQ_INT(bench_proc_parse_status("Name:\tx\n", &rss), TERN_EPROTO);
}

static void test_report_fields(void)
{
    struct bench_opts o;
    struct bench_result r;
    struct bench_field f[64];
    char err[200];
    static const char *const a[] = {"bench", "idle", "-n", "100"};
    REQUIRE(parse(&o, err, a, 4) == 0);
    bench_report_init(&r, &o);
    r.ok = true;
    r.conns = 100;
    r.have_broker = true;
    r.broker_rss0_kib = 1000;
    r.broker_rss_kib = 1150;
    size_t n = bench_report_fields(&r, f, 64);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(f[i].key, "broker_rss_per_conn_kib")) {
            CHECK(!strcmp(f[i].value, "1.500"));
            found++;
        }
        CHECK(strcmp(f[i].key, "latency_p99_us") != 0); /* not measured: not printed */
    }
    CHECK_EQ_INT(found, 1);
}

UNIT_MAIN(UNIT_TEST(test_hist_small_values_exact), UNIT_TEST(test_hist_buckets_cover_without_gaps),
          UNIT_TEST(test_hist_large_values_relative_error), UNIT_TEST(test_hist_merge_and_empty),
          UNIT_TEST(test_stamp_layout), UNIT_TEST(test_opts_defaults), UNIT_TEST(test_opts_values),
          UNIT_TEST(test_opts_errors), UNIT_TEST(test_wire_templates),
          UNIT_TEST(test_wire_frame_and_acks), UNIT_TEST(test_proc_parsers),
          UNIT_TEST(test_report_fields))
