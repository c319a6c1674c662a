/* `tern sub` and `tern rr`: mosquitto_sub / mosquitto_rr-compatible subscribers. They share
 * the message handling (-C, -R, -T, --retained-only, --remove-retained, output via
 * cli_format); rr first publishes one request with a Response Topic and waits for one reply.
 * Like mosquitto's tools they subscribe at every CONNACK, so an automatic reconnect after the
 * broker went away restores the subscriptions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_conn.h"
#include "cli_format.h"
#include "cli_help.h"
#include "cli_opts.h"
#include "cli_tools.h"
#include "mem.h"

struct sub_state {
    struct cli_cfg *cfg; /* first: cli_conn_open's contract */
    long received;
    bool processing; /* false once -C or --retained-only ended the run */
    bool done;
    bool timed_out;
    int exit_code;
    uint16_t sub_id;
    struct tern_str request; /* tern rr: the request's payload */
    unsigned random_seed;    /* --random-filter */
};

/* Ends the run loop after the current callback. */
static void finish(struct sub_state *s, struct tern_client *c)
{
    (void)c;
    s->done = true;
}

static bool filtered_out(const struct cli_cfg *cfg, const struct tern_message *m)
{
    char topic[65536];
    size_t n = m->topic.len < sizeof topic - 1 ? m->topic.len : sizeof topic - 1;
    memcpy(topic, m->topic.ptr, n);
    topic[n] = '\0';
    for (int k = 0; k < cfg->filter_out_count; k++) {
        if (tern_topic_matches(cfg->filter_out[k], topic))
            return true;
    }
    return false;
}

static void remove_retained(struct tern_client *c, const struct tern_message *m)
{
    char topic[65536];
    size_t n = m->topic.len < sizeof topic - 1 ? m->topic.len : sizeof topic - 1;
    memcpy(topic, m->topic.ptr, n);
    topic[n] = '\0';
    struct tern_str empty = {NULL, 0};
    tern_client_publish(c, topic, empty, 1, true, NULL, NULL);
}

/* True when --random-filter drops this message. */
static bool randomly_dropped(struct sub_state *s)
{
    if (s->cfg->random_filter >= 100.0)
        return false;
    return (double)rand_r(&s->random_seed) / ((double)RAND_MAX + 1.0) * 100.0 >=
           s->cfg->random_filter;
}

/* In mosquitto_sub's order: --retained-only ends at the first live message; -R and -T skip a
 * message (so -T also keeps --remove-retained from clearing it); --random-filter only skips
 * the printing. */
static void on_message(struct tern_client *c, void *ud, const struct tern_message *m)
{
    struct sub_state *s = ud;
    struct cli_cfg *cfg = s->cfg;
    if (!s->processing)
        return;
    if (cfg->retained_only && !m->retain) {
        s->processing = false;
        finish(s, c);
        return;
    }
    if (m->retain && cfg->no_retained)
        return;
    if (filtered_out(cfg, m))
        return;
    if (cfg->remove_retained && m->retain)
        remove_retained(c, m);
    if (randomly_dropped(s))
        return;
    struct cli_print_opts po = {cfg->format, cfg->verbose, cfg->eol, cfg->pretty,
                                cfg->version == TERN_MQTT_V5};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    cli_print_message(stdout, cfg->quiet ? NULL : stderr, &po, m, &now);
    s->received++;
    if (cfg->tool == CLI_RR || (cfg->msg_count > 0 && s->received >= cfg->msg_count)) {
        s->processing = false;
        finish(s, c);
    }
}

static void send_request(struct sub_state *s, struct tern_client *c)
{
    struct cli_cfg *cfg = s->cfg;
    struct tern_props props;
    const struct tern_props *pp = cli_props(cfg, PC_PUBLISH);
    memset(&props, 0, sizeof props);
    if (pp)
        props = *pp;
    props.response_topic = tern_str_of(cfg->response_topic);
    props.present |= TERN_PROP_BIT(TERN_PROP_RESPONSE_TOPIC);
    int rc = tern_client_publish(c, cfg->topic, s->request, (uint8_t)cfg->qos, false,
                                 cfg->version == TERN_MQTT_V5 ? &props : NULL, NULL);
    if (rc) {
        s->exit_code = cli_conn_error(cfg, rc);
        finish(s, c);
    }
}

static void on_suback(struct tern_client *c, void *ud, uint16_t id, const uint8_t *codes, size_t n,
                      const struct tern_props *props)
{
    struct sub_state *s = ud;
    (void)props;
    if (id != s->sub_id)
        return;
    if (s->cfg->debug && s->cfg->tool == CLI_SUB && !s->cfg->quiet) {
        printf("Subscribed (mid: %u): %d", id, n ? codes[0] : 0);
        for (size_t k = 1; k < n; k++)
            printf(", %d", codes[k]);
        printf("\n");
        fflush(stdout);
    }
    bool any = false;
    for (size_t k = 0; k < n; k++)
        any = any || codes[k] < 0x80;
    if (!any) {
        if (!s->cfg->quiet)
            fprintf(stderr, "All subscription requests were denied.\n");
        s->exit_code = 1;
        finish(s, c);
        return;
    }
    if (s->cfg->exit_after_sub)
        finish(s, c);
    else if (s->cfg->tool == CLI_RR)
        send_request(s, c);
}

static int subscribe_all(struct sub_state *s, struct tern_client *c)
{
    struct cli_cfg *cfg = s->cfg;
    struct tern_sub subs[CLI_MAX_TOPICS];
    int n = cfg->tool == CLI_RR ? 1 : cfg->topic_count;
    for (int k = 0; k < n; k++) {
        subs[k].filter = cfg->tool == CLI_RR ? cfg->response_topic : cfg->topics[k];
        subs[k].qos = (uint8_t)cfg->qos;
        subs[k].no_local = cfg->no_local;
        subs[k].retain_as_published = cfg->retain_as_published;
        subs[k].retain_handling = (uint8_t)cfg->retain_handling;
    }
    int rc = tern_client_subscribe(c, subs, (size_t)n, cli_props(cfg, PC_SUBSCRIBE), &s->sub_id);
    if (rc == TERN_ERROR_INVAL) {
        if (!cfg->quiet)
            fprintf(stderr,
                    "Error: Invalid subscription topic '%s', are all '+' and '#' "
                    "wildcards correct?\n",
                    subs[0].filter);
        return 1;
    }
    if (rc == 0 && cfg->unsub_count > 0)
        rc = tern_client_unsubscribe(c, cfg->unsub, (size_t)cfg->unsub_count,
                                     cli_props(cfg, PC_UNSUBSCRIBE), NULL);
    return rc ? cli_conn_error(cfg, rc) : 0;
}

static void on_connack(struct tern_client *c, void *ud, bool session_present, uint8_t reason,
                       const struct tern_props *props)
{
    struct sub_state *s = ud;
    (void)session_present;
    (void)props;
    if (reason != 0 || s->done)
        return;
    int rc = subscribe_all(s, c);
    if (rc) {
        s->exit_code = rc;
        finish(s, c);
    }
}

/* Runs until -C, -E, -W, --retained-only, a signal, or the connection's end. */
static int run(struct sub_state *s, struct tern_client *c)
{
    struct cli_cfg *cfg = s->cfg;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!s->done && !cli_signalled()) {
        int left = -1;
        if (cfg->timeout_s > 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long long spent =
                (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
            if (spent >= cfg->timeout_s * 1000LL) {
                s->timed_out = true;
                break;
            }
            left = (int)(cfg->timeout_s * 1000LL - spent);
        }
        int rc = tern_client_run_once(c, left);
        if (rc)
            return cli_conn_error(cfg, rc);
        if (tern_client_is_closed(c) && !tern_client_is_reconnecting(c))
            break;
    }
    if (s->timed_out) {
        if (!cfg->quiet)
            fprintf(stderr, "Timed out\n");
        return CLI_EXIT_TIMEOUT;
    }
    return s->exit_code;
}

static int sub_like_main(enum cli_tool tool, int argc, char **argv)
{
    struct cli_cfg cfg;
    int rc = cli_parse(&cfg, tool, argc, argv, stderr);
    if (rc == 2) {
        if (tool == CLI_SUB)
            cli_help_sub(stdout);
        else
            cli_help_rr(stdout);
        return 1;
    }
    if (rc)
        return rc;
    struct sub_state st = {.cfg = &cfg, .processing = true};
    st.random_seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    char *buf = NULL;
    if (tool == CLI_RR && (rc = cli_load_payload(&cfg, &buf, &st.request)) != 0)
        return rc;
    struct tern_callbacks cb = {
        .on_connack = on_connack, .on_message = on_message, .on_suback = on_suback};
    struct tern_client *c = NULL;
    rc = cli_conn_open(&cfg, &cb, &st, &c);
    if (rc) {
        mem_free(buf);
        return rc;
    }
    cli_catch_signals();
    rc = run(&st, c);
    /* Let --remove-retained clears and acknowledgements go out before leaving. */
    while (rc == 0 && !cli_signalled() && !tern_client_is_closed(c) && tern_client_pending(c) > 0 &&
           tern_client_run_once(c, 1000) == 0)
        ;
    /* As mosquitto_sub: interrupted by SIGINT or SIGTERM, a v5 client leaves with reason 0x04
     * (the broker publishes its will) and exits 0. */
    cli_conn_close(&cfg, c, cli_signalled() ? 0x04 : 0);
    tern_client_free(c);
    mem_free(buf);
    return rc;
}

int cli_sub_main(int argc, char **argv)
{
    return sub_like_main(CLI_SUB, argc, argv);
}

int cli_rr_main(int argc, char **argv)
{
    return sub_like_main(CLI_RR, argc, argv);
}
