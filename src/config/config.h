/* Broker configuration: reads mosquitto.conf syntax (Mosquitto 2 drop-in plus Tern's own options)
 * into an immutable struct config. The parser never prints: errors and warnings come back as
 * "FILE:LINE: message" strings in struct config_diag for the caller to log. It does not open
 * sockets, resolve host names or read password/ACL/TLS files; it only records their paths. */
#ifndef TERN_CONFIG_CONFIG_H
#define TERN_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum listener_protocol { LISTENER_MQTT, LISTENER_WEBSOCKETS };

/* Values of the auth_method option, as a mask. */
enum config_auth_method {
    CONFIG_AUTH_PASSWORD = 1 << 0,
    CONFIG_AUTH_SCRAM_SHA_256 = 1 << 1,
    CONFIG_AUTH_SCRAM_SHA_512 = 1 << 2,
    CONFIG_AUTH_JWT = 1 << 3,
};

/* One listening socket. After a successful load every int "-1 = not set" field below is resolved
 * to its effective value, except where noted. */
struct listener_conf {
    char *bind_address;                /* NULL = any address */
    uint16_t port;                     /* 0 = ephemeral (tests); unix listeners: 0 */
    char *unix_path;                   /* "listener 0 /path/sock" unix socket, else NULL */
    int socket_domain;                 /* AF_UNSPEC (both), AF_INET or AF_INET6 */
    enum listener_protocol protocol;   /* websockets: HTTP/1.1, MQTT after the upgrade */
    int allow_anonymous;               /* effective 0/1 after load (per listener or global) */
    int max_connections;               /* -1 = unlimited */
    char *mount_point;                 /* topic prefix, no wildcards; NULL = none */
    char *bind_interface;              /* SO_BINDTODEVICE network device name, NULL = any */
    int max_qos;                       /* effective 0..2 (listener value or config's) */
    int max_topic_alias;               /* effective 0..65535 (listener value or config's) */
    int max_topic_alias_broker;        /* -1 = not set (Mosquitto 2.1 option, stored only) */
    int allow_zero_length_clientid;    /* effective 0/1 (listener value or config's) */
    bool use_username_as_clientid;     /* the client id is replaced by the user name */
    unsigned accept_protocol_versions; /* mask of 1 << protocol level (3, 4, 5); 0 = all */
    /* Websockets listeners (docs/http.md). */
    char *http_dir;           /* static files served on the listener, NULL = none */
    bool http_api;            /* REST API under /api/v1 */
    bool http_metrics;        /* Prometheus /metrics */
    bool http_metrics_auth;   /* /metrics needs the API's auth (default true) */
    char *http_trusted_proxy; /* space-separated addresses/CIDRs, NULL = none */
    int http_max_header_size; /* bytes; 0 = default (8192) */
    int http_max_body_size;   /* bytes; 0 = default (1 MiB) */
    int http_idle_timeout;    /* seconds; 0 = default (60) */
    int http_request_timeout; /* seconds from a request's first byte to its end; 0 = 30 */
    char *websockets_path;    /* upgrade only on this path, NULL = any */
    char *websockets_origin;  /* space-separated Origin values allowed to upgrade, NULL = any */
    /* TLS: stored for the TLS work, warned as not supported yet. */
    char *cafile, *capath, *certfile, *keyfile;
    char *ciphers, *ciphers_tls13, *tls_version, *crlfile, *dhparamfile, *psk_hint;
    char *tls_engine, *tls_engine_kpass_sha1, *tls_keyform;
    bool require_certificate, use_identity_as_username, use_subject_as_username;
    bool disable_client_cert_date_checks;
    /* Per-listener security (only when per_listener_settings is true, else NULL: use config's). */
    char *password_file, *acl_file, *psk_file, *auto_id_prefix;
    bool is_default;            /* made by the deprecated `port`/`bind_address` options */
    struct listener_conf *next; /* file order */
};

struct config {
    struct listener_conf *listeners; /* in file order */
    size_t listener_count;
    bool local_only; /* no listener/port/bind_address configured: loopback listeners only */
    bool per_listener_settings;
    int allow_anonymous; /* effective 0/1 after load (Mosquitto 2: false unless local_only) */
    char *password_file, *acl_file, *psk_file;
    unsigned worker_threads;                /* 0 = number of online CPUs */
    uint32_t worker_busy_poll_us;           /* default 30, 0 = off (loop_set_busy_poll) */
    uint32_t max_packet_size;               /* 0 = no limit beyond the protocol's */
    uint32_t message_size_limit;            /* 0 = none */
    uint16_t max_inflight_messages;         /* default 20; Mosquitto's 0 (unlimited) = 65535 */
    uint64_t max_inflight_bytes;            /* payload bytes in flight per client; 0 = unlimited */
    uint32_t max_queued_messages;           /* default 1000, 0 = unlimited */
    uint64_t max_queued_bytes;              /* default 0 = unlimited; not supported yet */
    uint16_t max_topic_alias;               /* default 10 */
    uint16_t max_keepalive;                 /* default 65535 */
    uint8_t max_qos;                        /* default 2 */
    uint32_t sys_interval;                  /* default 10 s, 0 = off; not supported yet */
    int64_t persistent_client_expiration_s; /* -1 = never (default) */
    bool allow_zero_length_clientid;        /* default true */
    char *auto_id_prefix;                   /* default "auto-" */
    bool retain_available;                  /* default true */
    uint32_t max_retained_messages;         /* 0 = unlimited (Tern extension) */
    uint64_t max_retained_bytes;            /* 0 = unlimited (Tern extension) */
    /* Persistence: stored, not supported yet. */
    bool persistence;
    char *persistence_location, *persistence_file; /* file default "tern.db" */
    uint32_t autosave_interval;                    /* default 1800 s; accepted, see below */
    bool autosave_on_changes;                      /* accepted; the store is incremental */
    int persistence_fsync;                         /* 0 always (default), 1 interval, 2 never */
    uint32_t persistence_fsync_interval_ms;        /* for "interval"; default 1000 */
    /* Logging. */
    unsigned log_dest;          /* mask of enum log_dest (log.h); default LOG_DEST_STDERR */
    char *log_file;             /* for "log_dest file PATH" */
    unsigned log_type;          /* mask of enum log_level; default err|warn|notice|info */
    bool log_timestamp;         /* default true */
    char *log_timestamp_format; /* strftime format; NULL = seconds since the epoch */
    int log_facility;           /* -1 = default (daemon), 0..7 = local0..7 */
    bool connection_messages;   /* default true */
    char *user;                 /* default "mosquitto"; only matters when started as root */
    char *pid_file;
    /* v5 Response Information prefix: CONNACK carries "PREFIX/<client id>" to a client that
     * requests it; "" = never sent. A fixed array: nothing to free. */
    char response_information[128];
    /* Mosquitto compatibility options. */
    bool check_retain_source;        /* re-check the publisher's ACL on retained delivery */
    char *clientid_prefixes;         /* client ids must start with this; NULL = any */
    int global_max_clients;          /* sessions (online or kept); <= 0 = unlimited (default -1) */
    int global_max_connections;      /* connections, all listeners; <= 0 = unlimited (default -1) */
    uint32_t retain_expiry_interval; /* minutes between sweeps of expired retained; 0 = off */
    /* Recognised Mosquitto options of features not built yet (values stored, warned). */
    bool allow_duplicate_messages;    /* deprecated in Mosquitto, default true */
    bool queue_qos0_messages;         /* default false */
    bool set_tcp_nodelay;             /* default false */
    bool upgrade_outgoing_qos;        /* default false */
    uint64_t memory_limit;            /* 0 = none */
    int websockets_log_level;         /* default 0 */
    uint16_t websockets_headers_size; /* 0 = library default */
    char *http_api_token;             /* bearer token with the admin role, NULL = none */
    /* Authentication methods (auth_method, repeatable; 0 = password only) and their files. */
    unsigned auth_methods; /* mask of enum config_auth_method */
    char *scram_file;
    char *jwt_key_file, *jwt_jwks_file, *jwt_issuer, *jwt_audience, *jwt_username_claim;
    int64_t jwt_leeway;     /* seconds */
    char *http_admin_users; /* space-separated users with the admin role */
    size_t bridge_count;    /* `connection` sections seen (bridges not built yet) */
    size_t cli_port_count;  /* calls of config_set_cli_port() */
};

/* Result of parsing: errors and warnings as "FILE:LINE: message" strings. */
struct config_diag {
    char **errors;
    size_t error_count;
    char **warnings;
    size_t warning_count;
};

/* Parse the file at `path` (and the directories it includes with include_dir). On success
 * returns 0 and stores a new config in *out (free with config_free). Returns TERN_ECONFIG when
 * any line is bad (every bad line is reported in diag->errors, *out is NULL) or TERN_ENOMEM.
 * Warnings (options recognised but not supported yet, deprecations) are in diag->warnings on
 * success and failure alike. *diag is overwritten (may be NULL to discard); always release it
 * with config_diag_free. Not thread-safe with respect to the same diag. */
int config_load_file(const char *path, struct config **out, struct config_diag *diag);

/* Parse from a NUL-terminated string (for tests and fuzzing); `name` is used as FILE in messages.
 * include_dir in the text reads from disk as in a file. Same results as config_load_file. */
int config_load_string(const char *text, const char *name, struct config **out,
                       struct config_diag *diag);

/* The embedded defaults used when ternd starts with no -c: listeners 127.0.0.1:1883 and
 * [::1]:1883 (local_only), allow_anonymous true on them, everything else default.
 * Returns 0 or TERN_ENOMEM. */
int config_defaults(struct config **out);

/* Apply "-p PORT" from the command line the way Mosquitto 2 does: in local-only mode the first
 * call moves the loopback listeners to PORT and later calls add another loopback pair; when the
 * configuration has listeners, a listener on PORT on all addresses is added. Port must be
 * 1..65535. Returns 0, TERN_EINVAL or TERN_ENOMEM (c is unchanged on error). */
int config_set_cli_port(struct config *c, uint16_t port);

/* Both accept NULL. config_diag_free leaves *d zeroed. */
void config_free(struct config *c);
void config_diag_free(struct config_diag *d);

#endif
