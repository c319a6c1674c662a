/* Rendering of a benchmark result (see bench_report.h): one list of key/value fields feeds both
 * the table and the JSON, so the two never disagree. Derived figures (msg/s, broker CPU per
 * message, RSS per connection) are computed here, not by the engine. */
#include "bench_report.h"

#include <stdarg.h>
#include <string.h>

void bench_report_init(struct bench_result *r, const struct bench_opts *o)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->p50_us = r->p99_us = r->p999_us = r->max_us = r->mean_us = BENCH_UNSET;
    r->connect_s = r->subscribe_s = r->store_s = r->deliver_s = BENCH_UNSET;
}

struct sink {
    struct bench_field *out;
    size_t cap;
    size_t n;
};

__attribute__((format(printf, 4, 5))) static void add(struct sink *s, const char *key, bool is_text,
                                                      const char *fmt, ...)
{
    va_list ap;
    if (s->n >= s->cap)
        return;
    struct bench_field *f = &s->out[s->n++];
    f->key = key;
    f->is_text = is_text;
    va_start(ap, fmt);
    vsnprintf(f->value, sizeof f->value, fmt, ap);
    va_end(ap);
}

static void add_opt(struct sink *s, const char *key, double v, const char *fmt)
{
    if (v != BENCH_UNSET) {
        if (!strcmp(fmt, "us"))
            add(s, key, false, "%.1f", v);
        else
            add(s, key, false, "%.3f", v);
    }
}

static void add_load(struct sink *s, const struct bench_result *r)
{
    const struct bench_opts *o = r->o;
    double el = r->elapsed_s > 0 ? r->elapsed_s : 1;
    if (r->elapsed_s <= 0)
        return;
    add(s, "duration_s", false, "%.3f", r->elapsed_s);
    add(s, "sent", false, "%llu", (unsigned long long)r->sent);
    add(s, "received", false, "%llu", (unsigned long long)r->received);
    add(s, "sent_per_s", false, "%.0f", (double)r->sent / el);
    add(s, "msg_per_s", false, "%.0f", (double)r->received / el);
    add(s, "mbyte_per_s", false, "%.2f", (double)r->received * o->payload / el / 1e6);
}

static void add_broker(struct sink *s, const struct bench_result *r)
{
    if (!r->have_broker)
        return;
    add(s, "broker_cpu_s", false, "%.3f", r->broker_cpu_s);
    if (r->received)
        add(s, "broker_cpu_us_per_msg", false, "%.3f", r->broker_cpu_s * 1e6 / (double)r->received);
    add(s, "broker_rss_kib", false, "%llu", (unsigned long long)r->broker_rss_kib);
    if (r->o->kind == BENCH_IDLE && r->conns) {
        double d = (double)r->broker_rss_kib - (double)r->broker_rss0_kib;
        add(s, "broker_rss_per_conn_kib", false, "%.3f", d / r->conns);
    }
}

size_t bench_report_fields(const struct bench_result *r, struct bench_field *out, size_t cap)
{
    struct sink s = {out, cap, 0};
    const struct bench_opts *o = r->o;
    add(&s, "scenario", true, "%s", bench_opts_kind_name(o->kind));
    add(&s, "ok", false, "%s", r->ok ? "true" : "false");
    if (!r->ok)
        add(&s, "error", true, "%s", r->error);
    add(&s, "mqtt", true, "%s", o->version == 5 ? "5" : "3.1.1");
    add(&s, "qos", false, "%u", o->qos);
    add(&s, "connections", false, "%u", r->conns);
    if (o->kind != BENCH_IDLE) {
        add(&s, "publishers", false, "%u", o->kind == BENCH_RETAINED ? 1 : o->pubs);
        add(&s, "subscribers", false, "%u", o->kind == BENCH_RETAINED ? 1 : o->subs);
        add(&s, "payload_bytes", false, "%u", o->payload);
        if (o->rate > 0)
            add(&s, "rate", false, "%.0f", o->rate);
        else
            add(&s, "window", false, "%u", o->window);
    }
    if (o->count)
        add(&s, "count", false, "%u", o->count);
    add_opt(&s, "connect_s", r->connect_s, "s");
    if (r->connect_s > 0)
        add(&s, "connect_per_s", false, "%.0f", r->conns / r->connect_s);
    add_opt(&s, "subscribe_s", r->subscribe_s, "s");
    if (r->subscribe_s > 0)
        add(&s, "subscribe_per_s", false, "%.0f", o->count / r->subscribe_s);
    add_opt(&s, "store_s", r->store_s, "s");
    add_opt(&s, "deliver_s", r->deliver_s, "s");
    if (r->deliver_s > 0)
        add(&s, "deliver_per_s", false, "%.0f", (double)r->received_total / r->deliver_s);
    add_load(&s, r);
    add_opt(&s, "latency_p50_us", r->p50_us, "us");
    add_opt(&s, "latency_p99_us", r->p99_us, "us");
    add_opt(&s, "latency_p999_us", r->p999_us, "us");
    add_opt(&s, "latency_max_us", r->max_us, "us");
    add_opt(&s, "latency_mean_us", r->mean_us, "us");
    add(&s, "lost", false, "%llu", (unsigned long long)r->lost);
    add(&s, "duplicates", false, "%llu", (unsigned long long)r->dups);
    if (r->stalls)
        add(&s, "window_stalls", false, "%llu", (unsigned long long)r->stalls);
    if (r->closed)
        add(&s, "closed_by_broker", false, "%llu", (unsigned long long)r->closed);
    if (r->suback_failures)
        add(&s, "suback_failures", false, "%llu", (unsigned long long)r->suback_failures);
    add_broker(&s, r);
    return s.n;
}

void bench_report_table(FILE *f, const struct bench_result *r)
{
    struct bench_field fields[64];
    size_t n = bench_report_fields(r, fields, 64);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%-24s %s\n", fields[i].key, fields[i].value);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void bench_report_json(FILE *f, const struct bench_result *r)
{
    struct bench_field fields[64];
    size_t n = bench_report_fields(r, fields, 64);
    fputc('{', f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", fields[i].key);
        if (fields[i].is_text)
            json_string(f, fields[i].value);
        else
            fputs(fields[i].value, f);
    }
    fputs("}\n", f);
}
