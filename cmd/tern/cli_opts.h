/* Command line options shared by `tern pub`, `tern sub` and `tern rr`, parsed with the same
 * names, defaults, checks and error messages as mosquitto_pub / _sub / _rr 2.0, and turned into
 * libtern connect options. The parsed config points into argv (which must outlive it). */
#ifndef TERN_CMD_CLI_OPTS_H
#define TERN_CMD_CLI_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tern.h"

enum cli_tool { CLI_PUB, CLI_SUB, CLI_RR };

/* -D commands. */
enum cli_prop_cmd {
    PC_CONNECT,
    PC_PUBLISH,
    PC_SUBSCRIBE,
    PC_UNSUBSCRIBE,
    PC_DISCONNECT,
    PC_WILL,
    PC_COUNT,
};

#define CLI_MAX_USER_PROPS 32
#define CLI_MAX_TOPICS     64

struct cli_props {
    struct tern_props p;
    struct tern_user_prop user[CLI_MAX_USER_PROPS];
    uint32_t sub_id;
};

enum cli_pub_mode { PM_NONE, PM_MESSAGE, PM_FILE, PM_LINES, PM_NULL, PM_STDIN };

struct cli_cfg {
    enum cli_tool tool;
    const char *host;
    int port; /* 0 = default */
    const char *bind_address;
    int version;
    const char *id;
    const char *id_prefix;
    int keepalive;
    bool clean;
    long long session_expiry; /* -1 = not given */
    int qos;
    bool retain;
    const char *username;
    const char *password;
    const char *will_topic;
    const char *will_payload;
    int will_qos;
    bool will_retain;
    bool debug;
    bool quiet;
    bool tls;
    const char *cafile;
    const char *capath;
    const char *cert;
    const char *key;
    const char *keyform;          /* "pem" (engines are refused) */
    const char *tls_engine;       /* recognised, refused */
    const char *tls_engine_kpass; /* recognised, refused */
    const char *tls_version;
    bool insecure;
    bool tls_use_os_certs;
    const char *ciphers;
    const char *tls_alpn;
    const char *psk;
    const char *psk_identity;
    const char *unix_path;
    const char *proxy;
    bool nodelay;
    int max_inflight;
    /* pub */
    enum cli_pub_mode pub_mode;
    const char *message;
    const char *file;
    const char *topic;
    long repeat;
    double repeat_delay_s;
    /* sub / rr */
    const char *topics[CLI_MAX_TOPICS];
    int topic_count;
    const char *filter_out[CLI_MAX_TOPICS];
    int filter_out_count;
    const char *unsub[CLI_MAX_TOPICS];
    int unsub_count;
    bool verbose;
    long msg_count;
    long timeout_s;
    bool eol;
    bool no_retained;
    bool exit_after_sub;
    const char *format;
    bool pretty;
    bool retained_only;
    bool remove_retained;
    double random_filter; /* percent of messages printed, 100 = all */
    bool no_local;
    bool retain_as_published;
    int retain_handling;
    const char *response_topic;
    struct cli_props props[PC_COUNT];

    /* Storage for cli_connect_options. */
    char id_buf[128];
    char url_buf[1024];
    struct tern_will will;
    struct tern_tls_options tls_opts;
    struct tern_str password_str;
    struct tern_reconnect_options reconnect;
    uint16_t debug_mid; /* -d: mosquitto-style message ids for QoS 0 PUBLISH lines */
};

/* Parses argv[1..argc) (argv[0] is the subcommand name). Returns 0, 1 after printing an
 * "Error: ..." line (and mosquitto's usage hint where it prints one) to err, or 2 when the
 * usage text is to be printed: --help, or tern pub without topic or message (after the error,
 * as mosquitto_pub). */
int cli_parse(struct cli_cfg *c, enum cli_tool tool, int argc, char **argv, FILE *err);

/* Fills o from c (pointing into c). */
void cli_connect_options(struct cli_cfg *c, struct tern_connect_options *o);

/* Props of one -D command, or NULL when none were given or the protocol is not v5. */
const struct tern_props *cli_props(const struct cli_cfg *c, enum cli_prop_cmd cmd);

/* The name for messages: "tern pub". */
const char *cli_tool_name(enum cli_tool tool);

#endif
