/* The private state of struct tern_client, shared by the files of src/client only: the
 * connection state machine (client.c), inbound packets (client_in.c), the outbound queue
 * (client_out.c), the socket/TLS layer (client_io.c) and property conversion (client_props.c).
 * Not installed; applications see only include/tern. */
#ifndef TERN_CLIENT_CLIENT_IMPL_H
#define TERN_CLIENT_CLIENT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "codec.h"
#include "list.h"
#include "tern.h"

enum client_state {
    CS_IDLE,         /* never connected, or closed */
    CS_OPENING,      /* TCP connect or TLS handshake in progress */
    CS_WAIT_CONNACK, /* CONNECT queued/sent */
    CS_CONNECTED,    /* CONNACK accepted */
    CS_CLOSING,      /* DISCONNECT queued: close once the output is written */
};

/* A queued or inflight outbound PUBLISH. data holds the whole encoded packet (full topic, no
 * DUP), so it can be resent as is after a reconnect. */
enum out_state {
    OM_QUEUED,    /* not sent on this connection yet */
    OM_WAIT_ACK,  /* PUBLISH sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2) */
    OM_WAIT_COMP, /* PUBREL sent; waiting for PUBCOMP */
};

struct out_msg {
    struct list_node node;
    uint16_t packet_id;
    uint8_t qos;
    uint8_t state; /* enum out_state */
    size_t len;
    uint8_t data[];
};

struct addrinfo;

/* The SOCKS5 handshake (client_socks.c) between the TCP connect and TLS/MQTT. The largest
 * request is the RFC 1929 one (3 + 255 + 255 bytes); the largest reply is a CONNECT reply with a
 * domain name (4 + 1 + 255 + 2). */
enum socks_state {
    SOCKS_START,   /* nothing sent yet */
    SOCKS_METHOD,  /* greeting sent; waiting for the chosen method */
    SOCKS_AUTH,    /* user name and password sent; waiting for the status */
    SOCKS_CONNECT, /* CONNECT sent; waiting for the reply */
    SOCKS_DONE,    /* the tunnel is open */
};

struct client_socks {
    uint8_t state; /* enum socks_state */
    uint16_t out_len;
    uint16_t out_off;
    uint16_t in_len;
    uint8_t out[516];
    uint8_t in[262];
};

/* The socket and optional TLS session. */
struct client_io {
    int fd;
    struct addrinfo *ai_list; /* resolved addresses of the server */
    struct addrinfo *ai_next; /* the next one to try when this connect fails */
    bool tcp_connected;
    bool tls_done;
    bool want_write; /* TLS needs the socket writable to progress */
    void *ssl_ctx;   /* SSL_CTX * */
    void *ssl;       /* SSL * */
    struct client_socks socks;
};

/* Copied connect options, kept for reconnects. */
struct client_conn_opts {
    char *host;
    uint16_t port;
    char *bind_address;
    bool use_tls;
    char *ca_file;
    char *ca_path;
    char *cert_file;
    char *key_file;
    char *tls_version;
    bool insecure;
    bool use_os_certs;
    char *ciphers;
    char *alpn;
    char *psk_identity;
    char *psk_hex;
    char *unix_path; /* used instead of host:port when set */
    bool nodelay;
    char *proxy_host; /* SOCKS5 proxy, or NULL for a direct connection */
    uint16_t proxy_port;
    char *proxy_user; /* NULL = offer no user name / password authentication */
    char *proxy_pass; /* NULL when the URL has none (sent as empty) */
};

/* Automatic reconnect settings and state (client_reconnect.c). */
struct client_reconnect {
    bool enabled;
    bool jitter;
    uint32_t min_ms;
    uint32_t max_ms;
    bool armed;   /* a connection was accepted since tern_client_connect */
    bool pending; /* a reconnect is scheduled at at_ms */
    uint64_t at_ms;
    uint32_t delay_ms; /* the last delay before jitter; 0 after a CONNACK */
    uint64_t seed;     /* jitter PRNG state */
};

struct tern_client {
    struct tern_callbacks cb;
    void *ud;
    enum client_state state;
    uint8_t version;
    bool custom_io; /* started with tern_client_start: no socket */
    bool stop;      /* tern_client_stop() called */
    bool flushing;  /* inside client_out_flush or resend */
    struct client_io io;
    struct client_conn_opts copts;
    struct client_reconnect rc;

    uint8_t *connect_pkt; /* the encoded CONNECT, resent on reconnect */
    size_t connect_len;
    uint16_t keep_alive_s;
    bool auto_alias;
    uint16_t max_inflight;

    struct buf in;
    struct buf out;
    uint64_t now_ms;
    uint64_t last_out_ms;
    uint64_t ping_sent_ms;
    bool ping_pending;

    struct list_node outq; /* struct out_msg, in publish order */
    size_t outq_count;     /* QoS > 0 messages in outq */
    size_t inflight;
    uint16_t next_id;
    uint8_t *ids_used; /* bitmap of packet ids in use by any outbound packet */
    unsigned conn_gen; /* bumped at every connection start and close */

    /* What the server told us in CONNACK. */
    uint16_t srv_receive_max;
    uint32_t srv_max_packet;
    uint8_t srv_max_qos;
    bool srv_retain;
    uint16_t srv_alias_max;

    uint8_t *qos2_in;      /* bitmap: inbound QoS 2 ids between PUBREC and PUBREL */
    char **alias_in;       /* inbound topic aliases 1..alias_in_max (this connection) */
    uint16_t alias_in_max; /* what we announced in CONNECT */
    uint16_t alias_in_cap; /* entries allocated in alias_in */
    char **alias_out;      /* outbound aliases we assigned 1..alias_out_count */
    uint16_t alias_out_count;

    uint8_t connack_reason;
    int last_err;

    /* Scratch arrays for converting received properties. */
    struct tern_user_prop *user_scratch;
    size_t user_cap;
    uint32_t *subid_scratch;
    size_t subid_cap;
};

/* ---- client.c ---- */

/* Closes the connection (socket, buffers), records err and calls on_disconnect once. */
void client_close(struct tern_client *c, int err, uint8_t reason, const struct tern_props *props);
/* Appends an encoded packet to the output buffer. 0 or TERN_ENOMEM / TERN_EINVAL. */
int client_send_packet(struct tern_client *c, const struct mqtt_packet *p);
/* Internal error (TERN_E*) to public TERN_ERROR_* (same values, checked at compile time). */
int client_err(int err);
/* Appends one whole encoded packet to the output buffer and reports it to on_packet. */
int client_append(struct tern_client *c, const uint8_t *data, size_t len);
/* Reports a packet at data[0..len) to on_packet (sent or received). */
void client_trace(struct tern_client *c, bool sent, const uint8_t *data, size_t len);
/* Opens a new socket with the stored options and queues CONNECT (state CS_OPENING). */
int client_open_socket(struct tern_client *c, uint64_t now_ms);

/* ---- client_reconnect.c ---- */

/* Takes the reconnect settings of a new tern_client_connect (NULL = none); disarms. */
void client_reconnect_setup(struct tern_client *c, const struct tern_reconnect_options *o);
/* CONNACK accepted: arms automatic reconnect and resets the backoff. */
void client_reconnect_connected(struct tern_client *c);
/* The connection closed with err (and the server's v5 reason): schedules a reconnect when
 * armed and the cause allows it. */
void client_reconnect_on_close(struct tern_client *c, int err, uint8_t reason);
/* Performs a due reconnect. 0 (also when the attempt failed and another was scheduled). */
int client_reconnect_tick(struct tern_client *c, uint64_t now_ms);
/* Milliseconds until the scheduled reconnect from now_ms, or -1 when none is scheduled. */
int64_t client_reconnect_timeout_ms(const struct tern_client *c, uint64_t now_ms);

/* ---- client_in.c ---- */

/* Handles one decoded packet from the server. 0 or an error (the caller closes). */
int client_in_packet(struct tern_client *c, const struct mqtt_packet *p);
/* Clears per-connection inbound state (aliases). */
void client_in_reset(struct tern_client *c);

/* ---- client_out.c ---- */

/* Moves queued publishes into the output buffer while the inflight window allows. */
int client_out_flush(struct tern_client *c);
/* After CONNACK: resends inflight messages (PUBLISH with DUP, or PUBREL) when the session
 * is present; without a session, requeues them as new and completes those past PUBREC. */
int client_out_resend(struct tern_client *c, bool session_present);
/* PUBACK/PUBREC/PUBCOMP from the server. */
int client_out_ack(struct tern_client *c, uint8_t type, const struct mqtt_ack *a);
void client_out_free_all(struct tern_client *c);
/* The next free packet id, or 0 when all 65535 are in use. */
uint16_t client_out_next_id(struct tern_client *c);
/* Frees a packet id taken by client_out_next_id. */
void client_out_release_id(struct tern_client *c, uint16_t id);
/* Sends PUBACK/PUBREC/PUBREL/PUBCOMP with a reason code (dropped for v3). */
int client_out_send_ack(struct tern_client *c, uint8_t type, uint16_t id, uint8_t reason);
void client_out_reset_aliases(struct tern_client *c);

/* ---- client_io.c ---- */

void client_io_init(struct client_io *io);
/* Starts a non-blocking TCP connect (and TLS setup) to the stored options. */
int client_io_open(struct client_io *io, const struct client_conn_opts *o);
/* Progresses connect / handshake; 0 when ready, TERN_EAGAIN while in progress. */
int client_io_progress(struct client_io *io, const struct client_conn_opts *o);
/* > 0 bytes, TERN_EAGAIN, TERN_ECLOSED, TERN_EIO or TERN_ETLS. */
long client_io_read(struct client_io *io, void *buf, size_t len);
long client_io_write(struct client_io *io, const void *buf, size_t len);
void client_io_close(struct client_io *io);
void client_conn_opts_free(struct client_conn_opts *o);

/* ---- client_socks.c ---- */

/* Parses "socks5h://[user[:pass]@]host[:port]" into o->proxy_* (replacing them).
 * 0, TERN_EINVAL (malformed, a field over 255 bytes, port not 1..65535), TERN_ENOMEM. */
int client_socks_parse_url(const char *url, struct client_conn_opts *o);
/* Forgets any handshake progress (a new socket). */
void client_socks_reset(struct client_socks *s);
/* Runs the SOCKS5 handshake on the connected io->fd towards o->host:o->port without blocking:
 * 0 once the tunnel is open, TERN_EAGAIN while waiting (io->want_write when output is pending),
 * TERN_EPROTO (not a SOCKS5 reply), TERN_EPROXYAUTH, TERN_EPROXY, TERN_ECLOSED (the
 * proxy closed, or the server refused the proxy's connection), TERN_EIO. */
int client_socks_progress(struct client_io *io, const struct client_conn_opts *o);

/* ---- client_props.c ---- */

/* Fills a codec property set from public properties. user_buf must hold p->user_count
 * entries. Strings are borrowed. */
void client_props_to_codec(const struct tern_props *p, struct mqtt_props *out,
                           struct mqtt_user_prop *user_buf);
/* Fills public properties from decoded ones, using the client's scratch arrays.
 * 0 or TERN_ENOMEM. */
int client_props_from_codec(struct tern_client *c, const struct mqtt_props *in,
                            struct tern_props *out);

#endif
