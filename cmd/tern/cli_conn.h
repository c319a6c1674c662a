/* The connection part shared by `tern pub`, `tern sub` and `tern rr`: creating the client,
 * connecting with the blocking API, mosquitto-style error messages and exit codes; with -d it
 * routes libtern's packet trace to cli_debug. */
#ifndef TERN_CMD_CLI_CONN_H
#define TERN_CMD_CLI_CONN_H

#include "cli_opts.h"
#include "tern.h"

/* mosquitto's exit status for -W timeouts (MOSQ_ERR_TIMEOUT). */
#define CLI_EXIT_TIMEOUT 27

/* Creates the client and connects. ud must point to a struct whose first member is the
 * struct cli_cfg * of cfg (the -d trace finds the configuration through it). On success sets
 * *out and returns 0; otherwise prints the error like mosquitto's clients (unless --quiet) and
 * returns the exit status. */
int cli_conn_open(struct cli_cfg *cfg, const struct tern_callbacks *cb, void *ud,
                  struct tern_client **out);

/* Prints "Error: <message>" for a libtern error unless quiet, with the text libmosquitto gives
 * the matching error; returns the exit status: 16 for a SOCKS5 proxy error and 11 for a refused
 * proxy authentication method (libmosquitto's MOSQ_ERR_PROXY and MOSQ_ERR_AUTH, as mosquitto's
 * clients), otherwise 1. (cli_conn_open prints connect failures as "Unable to connect (...)".) */
int cli_conn_error(const struct cli_cfg *cfg, int err);

/* Sends DISCONNECT with reason (v5 only; 0 otherwise) and the -D disconnect properties, and
 * waits for the close. */
void cli_conn_close(struct cli_cfg *cfg, struct tern_client *c, uint8_t reason);

/* mosquitto_reason_string's text for an MQTT v5 reason code. */
const char *cli_reason_string(uint8_t reason);

/* Loads the -m/-f/-s/-n payload of tern pub or tern rr: *buf is NULL or an allocation the
 * caller frees with mem_free. Returns 0 or the exit status (error printed). */
int cli_load_payload(const struct cli_cfg *cfg, char **buf, struct tern_str *payload);

/* SIGINT and SIGTERM set a flag instead of killing the process (tern sub and tern rr leave with
 * a DISCONNECT, as mosquitto_sub does); cli_signalled() reads it. */
void cli_catch_signals(void);
bool cli_signalled(void);

/* Prints "Connection error: ..." for a refused CONNACK like mosquitto's clients. */
void cli_print_connack_error(FILE *err, int version, uint8_t reason);

#endif
