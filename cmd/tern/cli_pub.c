/* `tern pub`: mosquitto_pub-compatible publisher. Reads the payload (-m, -f, -n, -s, or one
 * message per stdin line with -l), connects, publishes (--repeat), waits for every QoS 1/2
 * acknowledgement and disconnects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_conn.h"
#include "cli_help.h"
#include "cli_opts.h"
#include "cli_tools.h"
#include "mem.h"

struct pub_state {
    struct cli_cfg *cfg;
};

static void on_publish(struct tern_client *c, void *ud, uint16_t id, uint8_t reason,
                       const struct tern_props *props)
{
    struct pub_state *s = ud;
    (void)c;
    (void)id;
    (void)props;
    /* 0x10 "no matching subscribers" is success. As mosquitto_pub, a refused message is a
     * warning and does not change the exit status. */
    if (reason >= 0x80 && !s->cfg->quiet)
        fprintf(stderr, "Warning: Publish %u failed: %s.\n", id, cli_reason_string(reason));
}

/* Reads all of f into a new buffer. */
static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = mem_alloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *nb = mem_realloc(buf, cap * 2);
            if (!nb) {
                mem_free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static int publish_one(struct cli_cfg *cfg, struct tern_client *c, struct tern_str payload)
{
    int rc = tern_client_publish(c, cfg->topic, payload, (uint8_t)cfg->qos, cfg->retain,
                                 cli_props(cfg, PC_PUBLISH), NULL);
    if (rc == 0)
        rc = tern_client_run_once(c, 0);
    return rc;
}

/* Waits until every message is acknowledged and written. */
static int drain(struct tern_client *c)
{
    while (!tern_client_is_closed(c) &&
           (tern_client_pending(c) > 0 || tern_client_wants_write(c))) {
        int rc = tern_client_run_once(c, 1000);
        if (rc)
            return rc;
    }
    return tern_client_is_closed(c) ? tern_client_last_error(c) : 0;
}

static void delay(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int publish_lines(struct cli_cfg *cfg, struct tern_client *c)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        struct tern_str p = {line, (size_t)n};
        rc = publish_one(cfg, c, p);
    }
    free(line);
    return rc;
}

int cli_load_payload(const struct cli_cfg *cfg, char **buf, struct tern_str *payload)
{
    size_t len = 0;
    *buf = NULL;
    if (cfg->pub_mode == PM_MESSAGE) {
        *payload = tern_str_of(cfg->message);
    } else if (cfg->pub_mode == PM_FILE || cfg->pub_mode == PM_STDIN) {
        FILE *f = cfg->pub_mode == PM_FILE ? fopen(cfg->file, "rb") : stdin;
        if (!f) {
            if (!cfg->quiet)
                fprintf(stderr, "Error: Unable to open file \"%s\".\n", cfg->file);
            return 1;
        }
        *buf = read_all(f, &len);
        if (f != stdin)
            fclose(f);
        if (!*buf)
            return cli_conn_error(cfg, TERN_ERROR_NOMEM);
        payload->ptr = *buf;
        payload->len = len;
    } else {
        payload->ptr = NULL;
        payload->len = 0;
    }
    return 0;
}

static int run_pub(struct cli_cfg *cfg, struct tern_client *c, struct tern_str payload)
{
    if (cfg->pub_mode == PM_LINES)
        return publish_lines(cfg, c);
    for (long k = 0; k < cfg->repeat; k++) {
        /* As mosquitto_pub: each repeat waits until the previous message completed. */
        if (k > 0) {
            int rc = drain(c);
            if (rc)
                return rc;
            if (cfg->repeat_delay_s > 0)
                delay(cfg->repeat_delay_s);
        }
        int rc = publish_one(cfg, c, payload);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_pub_main(int argc, char **argv)
{
    struct cli_cfg cfg;
    int rc = cli_parse(&cfg, CLI_PUB, argc, argv, stderr);
    if (rc == 2) {
        cli_help_pub(stdout);
        return 1;
    }
    if (rc)
        return rc;
    char *buf = NULL;
    struct tern_str payload = {NULL, 0};
    rc = cli_load_payload(&cfg, &buf, &payload);
    if (rc)
        return rc;
    struct pub_state st = {&cfg};
    struct tern_callbacks cb = {.on_publish = on_publish};
    struct tern_client *c = NULL;
    rc = cli_conn_open(&cfg, &cb, &st, &c);
    if (rc == 0) {
        rc = run_pub(&cfg, c, payload);
        if (rc == 0)
            rc = drain(c);
        if (rc)
            rc = cli_conn_error(&cfg, rc);
        cli_conn_close(&cfg, c, 0);
        tern_client_free(c);
    }
    mem_free(buf);
    return rc;
}
