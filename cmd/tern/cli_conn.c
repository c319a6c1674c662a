/* Shared connection handling for the CLI tools: connect (blocking), error texts matching
 * mosquitto's clients, disconnect. */
#include "cli_conn.h"

#include <stdio.h>

#include "cli_debug.h"

#define CONNECT_TIMEOUT_MS 60000

static void on_packet(struct tern_client *c, void *ud, bool sent, const uint8_t *data, size_t len)
{
    struct cli_cfg *cfg = *(struct cli_cfg **)ud; /* see cli_conn_open */
    (void)c;
    cli_debug_packet(cfg, stdout, sent, data, len);
}

int cli_conn_error(const struct cli_cfg *cfg, int err)
{
    if (!cfg->quiet) {
        if (err == TERN_ERROR_CLOSED || err == TERN_ERROR_IO)
            fprintf(stderr, "Error: Connection refused\n");
        else if (err == TERN_ERROR_PROXY)
            fprintf(stderr, "Error: Proxy error.\n");
        else if (err == TERN_ERROR_PROXY_AUTH)
            fprintf(stderr, "Error: Authorisation failed.\n");
        else if (err == TERN_ERROR_NOTFOUND)
            fprintf(stderr, "Error: Name or service not known\n");
        else
            fprintf(stderr, "Error: %s\n", tern_error_string(err));
    }
    /* As mosquitto's clients: libmosquitto's MOSQ_ERR_PROXY and MOSQ_ERR_AUTH as exit status. */
    if (err == TERN_ERROR_PROXY)
        return 16;
    if (err == TERN_ERROR_PROXY_AUTH)
        return 11;
    return 1;
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
    return cli_conn_error(cfg, rc);
}

void cli_conn_close(struct cli_cfg *cfg, struct tern_client *c)
{
    if (!tern_client_is_closed(c) || tern_client_is_reconnecting(c)) {
        if (tern_client_disconnect(c, 0, cli_props(cfg, PC_DISCONNECT)) == 0)
            tern_client_run(c, 10000);
    }
}

/* libmosquitto's reason strings (mosquitto_reason_string), capitals included. */
static const char *v5_reason(uint8_t r)
{
    switch (r) {
    case 0x80:
        return "Unspecified error";
    case 0x81:
        return "Malformed Packet";
    case 0x82:
        return "Protocol Error";
    case 0x83:
        return "Implementation specific error";
    case 0x84:
        return "Unsupported Protocol Version";
    case 0x85:
        return "Client identifier not valid";
    case 0x86:
        return "Bad User Name or Password";
    case 0x87:
        return "Not authorized";
    case 0x88:
        return "Server unavailable";
    case 0x89:
        return "Server busy";
    case 0x8A:
        return "Banned";
    case 0x8C:
        return "Bad authentication method";
    case 0x95:
        return "Packet too large";
    case 0x97:
        return "Quota exceeded";
    case 0x99:
        return "Payload format invalid";
    case 0x9A:
        return "Retain not supported";
    case 0x9B:
        return "QoS not supported";
    case 0x9C:
        return "Use another server";
    case 0x9D:
        return "Server moved";
    case 0x9F:
        return "Connection rate exceeded";
    default:
        return "Unknown reason";
    }
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
                    v5_reason(reason));
        else
            fprintf(err, "Connection error: %s\n", v5_reason(reason));
    } else {
        fprintf(err, "Connection error: %s\n",
                reason < 6 ? v3[reason] : "Connection Refused: unknown reason.");
    }
}
