/* Shared connection handling for the CLI tools: connect (blocking), error texts matching
 * mosquitto's clients, disconnect. */
#include "cli_conn.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli_debug.h"

#define CONNECT_TIMEOUT_MS 60000

static void on_packet(struct tern_client *c, void *ud, bool sent, const uint8_t *data, size_t len)
{
    struct cli_cfg *cfg = *(struct cli_cfg **)ud; /* see cli_conn_open */
    (void)c;
    cli_debug_packet(cfg, stdout, sent, data, len);
}

/* Errors that are an errno in libmosquitto, which its clients print with strerror. */
static const char *errno_text(int err)
{
    switch (err) {
    case TERN_ERROR_CLOSED:
    case TERN_ERROR_IO:
        return "Connection refused";
    default:
        return NULL;
    }
}

/* mosquitto_strerror's text for the libmosquitto error a libtern error stands for. */
static const char *lib_text(int err)
{
    switch (err) {
    case TERN_ERROR_PROXY:
        return "Proxy error.";
    case TERN_ERROR_PROXY_AUTH:
        return "Authorisation failed.";
    case TERN_ERROR_NOTFOUND:
        return "Lookup error.";
    case TERN_ERROR_TLS:
    case TERN_ERROR_CONFIG: /* the TLS context could not be built from the options */
        return "A TLS error occurred.";
    case TERN_ERROR_NOMEM:
        return "Out of memory.";
    case TERN_ERROR_PROTO:
        return "A network protocol error occurred when communicating with the broker.";
    case TERN_ERROR_TIMEDOUT:
        return "Timed out.";
    default:
        return tern_error_string(err);
    }
}

/* Exit status: libmosquitto's MOSQ_ERR_PROXY and MOSQ_ERR_AUTH, as mosquitto's clients. */
static int exit_status(int err)
{
    if (err == TERN_ERROR_PROXY)
        return 16;
    if (err == TERN_ERROR_PROXY_AUTH)
        return 11;
    return 1;
}

int cli_conn_error(const struct cli_cfg *cfg, int err)
{
    if (!cfg->quiet) {
        const char *e = errno_text(err);
        fprintf(stderr, "Error: %s\n", e ? e : lib_text(err));
    }
    return exit_status(err);
}

/* While connecting, mosquitto's clients print library errors as "Unable to connect (...)". */
static int connect_error(const struct cli_cfg *cfg, int err)
{
    if (errno_text(err) || err == TERN_ERROR_PROXY || err == TERN_ERROR_PROXY_AUTH)
        return cli_conn_error(cfg, err);
    if (!cfg->quiet)
        fprintf(stderr, "Unable to connect (%s).\n", lib_text(err));
    return exit_status(err);
}

int cli_conn_open(struct cli_cfg *cfg, const struct tern_callbacks *cb, void *ud,
                  struct tern_client **out)
{
    struct tern_connect_options o;
    cli_connect_options(cfg, &o);
    struct tern_callbacks all = *cb;
    if (cfg->debug)
        all.on_packet = on_packet;
    struct tern_client *c = tern_client_new(&all, ud);
    if (!c)
        return cli_conn_error(cfg, TERN_ERROR_NOMEM);
    int rc = tern_client_connect_blocking(c, &o, CONNECT_TIMEOUT_MS);
    if (rc == 0) {
        *out = c;
        return 0;
    }
    if (rc == TERN_ERROR_DENIED) {
        /* As mosquitto's clients: the CONNACK text (mosquitto_pub adds the library error), and
         * the reason (or v3 return) code as exit status. */
        uint8_t reason = tern_client_connack_reason(c);
        if (!cfg->quiet)
            cli_print_connack_error(stderr, cfg->version, reason);
        if (!cfg->quiet && cfg->tool == CLI_PUB) {
            fprintf(stderr, "Error: %s\n",
                    cfg->version == TERN_MQTT_V5
                        ? "A network protocol error occurred when communicating with the broker."
                        : "The connection was refused.");
        }
        tern_client_free(c);
        return reason;
    }
    tern_client_free(c);
    return connect_error(cfg, rc);
}

void cli_conn_close(struct cli_cfg *cfg, struct tern_client *c, uint8_t reason)
{
    if (cfg->version != TERN_MQTT_V5)
        reason = 0;
    if (!tern_client_is_closed(c) || tern_client_is_reconnecting(c)) {
        if (tern_client_disconnect(c, reason, cli_props(cfg, PC_DISCONNECT)) == 0)
            tern_client_run(c, 10000);
    }
}

/* libmosquitto's reason strings (mosquitto_reason_string), capitals included. */
const char *cli_reason_string(uint8_t r)
{
    static const char *const text[256] = {
        [0x00] = "Success",
        [0x01] = "Granted QoS 1",
        [0x02] = "Granted QoS 2",
        [0x04] = "Disconnect with Will Message",
        [0x10] = "No matching subscribers",
        [0x11] = "No subscription existed",
        [0x18] = "Continue authentication",
        [0x19] = "Re-authenticate",
        [0x80] = "Unspecified error",
        [0x81] = "Malformed Packet",
        [0x82] = "Protocol Error",
        [0x83] = "Implementation specific error",
        [0x84] = "Unsupported Protocol Version",
        [0x85] = "Client identifier not valid",
        [0x86] = "Bad User Name or Password",
        [0x87] = "Not authorized",
        [0x88] = "Server unavailable",
        [0x89] = "Server busy",
        [0x8A] = "Banned",
        [0x8B] = "Server shutting down",
        [0x8C] = "Bad authentication method",
        [0x8D] = "Keep Alive timeout",
        [0x8E] = "Session taken over",
        [0x8F] = "Topic Filter invalid",
        [0x90] = "Topic Name invalid",
        [0x91] = "Packet Identifier in use",
        [0x92] = "Packet Identifier not found",
        [0x93] = "Receive Maximum exceeded",
        [0x94] = "Topic Alias invalid",
        [0x95] = "Packet too large",
        [0x96] = "Message rate too high",
        [0x97] = "Quota exceeded",
        [0x98] = "Administrative action",
        [0x99] = "Payload format invalid",
        [0x9A] = "Retain not supported",
        [0x9B] = "QoS not supported",
        [0x9C] = "Use another server",
        [0x9D] = "Server moved",
        [0x9E] = "Shared Subscriptions not supported",
        [0x9F] = "Connection rate exceeded",
        [0xA0] = "Maximum connect time",
        [0xA1] = "Subscription identifiers not supported",
        [0xA2] = "Wildcard Subscriptions not supported",
    };
    return text[r] ? text[r] : "Unknown reason";
}

void cli_print_connack_error(FILE *err, int version, uint8_t reason)
{
    static const char *const v3[] = {"Connection Accepted.",
                                     "Connection Refused: unacceptable protocol version.",
                                     "Connection Refused: identifier rejected.",
                                     "Connection Refused: broker unavailable.",
                                     "Connection Refused: bad user name or password.",
                                     "Connection Refused: not authorised."};
    if (version == TERN_MQTT_V5) {
        if (reason == 0x84)
            fprintf(err,
                    "Connection error: %s. Try connecting to an MQTT v5 broker, or use "
                    "MQTT v3.x mode.\n",
                    cli_reason_string(reason));
        else
            fprintf(err, "Connection error: %s\n", cli_reason_string(reason));
    } else {
        fprintf(err, "Connection error: %s\n",
                reason < 6 ? v3[reason] : "Connection Refused: unknown reason.");
    }
}

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
    (void)sig;
    signalled = 1;
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: the signal ends libtern's poll() with EINTR, so the loop sees the flag. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_signalled(void)
{
    return signalled != 0;
}
