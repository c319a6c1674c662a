/* libtern client: an MQTT 3.1 / 3.1.1 / 5.0 client with an event-loop-agnostic core.
 * The core never blocks and starts no threads: the application reports socket readiness and
 * the time, and the client calls back. A small blocking API on poll() sits on top.
 * Thread-safety: one struct tern_client must be used by one thread at a time (no internal
 * locking); distinct clients are independent. Callbacks run inside the call that caused them
 * and may call any function of the same client except tern_client_free(). */
#ifndef TERN_PUBLIC_CLIENT_H
#define TERN_PUBLIC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"

struct tern_client;

/* Protocol versions (the CONNECT protocol level). */
enum tern_version {
    TERN_MQTT_V31 = 3,
    TERN_MQTT_V311 = 4,
    TERN_MQTT_V5 = 5,
};

/* Retain handling subscription option (v5). */
enum tern_retain_handling {
    TERN_RH_SEND = 0,        /* send retained messages at subscribe */
    TERN_RH_SEND_IF_NEW = 1, /* only if the subscription is new */
    TERN_RH_DONT_SEND = 2,
};

struct tern_will {
    const char *topic;
    struct tern_str payload;
    uint8_t qos;
    bool retain;
    const struct tern_props *props; /* v5 will properties, or NULL */
};

struct tern_tls_options {
    const char *ca_file;   /* PEM bundle of trusted CAs, or NULL */
    const char *ca_path;   /* hashed CA directory, or NULL */
    const char *cert_file; /* client certificate (PEM), or NULL */
    const char *key_file;  /* its private key (PEM), or NULL */
    const char *version;   /* minimum "tlsv1.1", "tlsv1.2" or "tlsv1.3"; NULL = tlsv1.2 */
    bool insecure;         /* skip the host name check (the chain is still verified) */
    bool use_os_certs;     /* also trust the system's CA store when ca_file/ca_path are set */
    const char *ciphers;   /* OpenSSL cipher list for TLS 1.2 and older, or NULL */
    const char *alpn;      /* one ALPN protocol name to offer ("mqtt"), or NULL */
    /* TLS-PSK instead of certificates: both set, the key as hex digits (at most 256 bytes).
     * The server then sends no certificate and none is checked. */
    const char *psk_identity;
    const char *psk_hex;
};

/* Automatic reconnect with exponential backoff (tern_connect_options.reconnect). Once a
 * connection made by tern_client_connect has been accepted (CONNACK 0), every later loss of
 * the connection by error (socket error, keep alive timeout, server DISCONNECT other than
 * "Session taken over") schedules a new connection with the same options; a refused CONNACK,
 * tern_client_disconnect() and tern_client_connect() end it. The delay starts at min_delay_ms,
 * doubles after every attempt that does not reach CONNACK, is capped at max_delay_ms and goes
 * back to min_delay_ms after a CONNACK. With jitter each delay is drawn uniformly from
 * [delay/2, delay]. Queued and unacknowledged publishes survive and are sent after the
 * reconnect; subscriptions are the server's session (resubscribe in on_connack when
 * session_present is false). */
struct tern_reconnect_options {
    uint32_t min_delay_ms; /* 0 = 1000 */
    uint32_t max_delay_ms; /* 0 = 60000; raised to min_delay_ms when below it */
    bool jitter;
};

/* Everything tern_client_connect() needs. Strings are copied; the struct and what it points to
 * may be freed once the call returns. */
struct tern_connect_options {
    const char *host; /* NULL = "localhost" */
    uint16_t port;    /* 0 = 1883, or 8883 with TLS */
    const char *bind_address;
    uint8_t version;       /* enum tern_version; 0 = TERN_MQTT_V311 */
    const char *client_id; /* NULL or "" = let the server choose (needs clean start) */
    bool clean_start;
    uint16_t keep_alive_s;     /* 0 = no keep alive */
    uint32_t session_expiry_s; /* v5; added to the CONNECT properties when non-zero */
    const struct tern_will *will;
    const char *username;
    const struct tern_str *password;    /* binary; NULL = none */
    const struct tern_props *props;     /* v5 CONNECT properties, or NULL */
    uint16_t max_inflight;              /* our own QoS 1/2 window; 0 = 20 */
    bool auto_topic_alias;              /* v5: use outbound topic aliases when the server allows */
    const struct tern_tls_options *tls; /* NULL = plain TCP */
    const char *unix_path; /* connect to this Unix domain socket instead of host:port */
    bool tcp_nodelay;      /* disable Nagle's algorithm (TCP only) */
    const struct tern_reconnect_options *reconnect; /* NULL = no automatic reconnect */
    /* Connect through a SOCKS5 proxy (RFC 1928), NULL = directly. The URL has Mosquitto's form
     * "socks5h://[user[:password]@]proxyhost[:port]" (port 1080 by default; an IPv6 proxy
     * address in brackets; user name and password are sent as is, not %-decoded, at most 255
     * bytes each). Only the proxy's name is looked up here: host goes to the proxy as a domain
     * name for it to resolve (an IP literal host as an address). With a user name the client
     * offers RFC 1929 user name / password authentication besides none. The handshake is part
     * of the non-blocking connect, before TLS (which still checks host) and CONNECT.
     * TERN_ERROR_INVAL for a malformed URL or with unix_path. Failures close the connection
     * with TERN_ERROR_PROXY_AUTH (no acceptable authentication method), TERN_ERROR_PROXY
     * (credentials refused, or another proxy failure), TERN_ERROR_CLOSED (proxy unreachable,
     * or the server refused the proxy's connection), TERN_ERROR_IO, TERN_ERROR_PROTO. */
    const char *proxy_url;
};

struct tern_sub {
    const char *filter;
    uint8_t qos;
    bool no_local;            /* v5 */
    bool retain_as_published; /* v5 */
    uint8_t retain_handling;  /* v5, enum tern_retain_handling */
};

/* Callbacks; any may be NULL. `props` is NULL for MQTT 3.x. Pointers are valid only during the
 * call. */
struct tern_callbacks {
    /* CONNACK received. reason is the v5 reason code or the v3 return code as on the wire; on a
     * non-zero reason the connection is then closed (on_disconnect follows). */
    void (*on_connack)(struct tern_client *c, void *ud, bool session_present, uint8_t reason,
                       const struct tern_props *props);
    /* A PUBLISH arrived. Acknowledgement (PUBACK / PUBREC) is sent after the callback returns. */
    void (*on_message)(struct tern_client *c, void *ud, const struct tern_message *msg);
    /* Our publish completed: QoS 0 written to the output buffer, QoS 1 PUBACK, QoS 2 PUBCOMP
     * (or a PUBREC with an error reason). */
    void (*on_publish)(struct tern_client *c, void *ud, uint16_t packet_id, uint8_t reason,
                       const struct tern_props *props);
    /* SUBACK / UNSUBACK with one reason code per filter (UNSUBACK v3: count 0). */
    void (*on_suback)(struct tern_client *c, void *ud, uint16_t packet_id, const uint8_t *reasons,
                      size_t count, const struct tern_props *props);
    void (*on_unsuback)(struct tern_client *c, void *ud, uint16_t packet_id, const uint8_t *reasons,
                        size_t count, const struct tern_props *props);
    /* The connection closed. err is 0 after our own tern_client_disconnect(), otherwise the
     * negative TERN_ERROR_* cause; reason is the server's v5 DISCONNECT reason (0 if none). */
    void (*on_disconnect)(struct tern_client *c, void *ud, int err, uint8_t reason,
                          const struct tern_props *props);
    /* Tracing (debug output): every whole packet, as encoded on the wire, when it is queued
     * for sending (sent = true) or when it has been received, before it is handled. data is
     * valid during the call only; the callback must not call functions of this client. */
    void (*on_packet)(struct tern_client *c, void *ud, bool sent, const uint8_t *data, size_t len);
};

/* A new, unconnected client. cb is copied. NULL on out of memory. Free with tern_client_free. */
struct tern_client *tern_client_new(const struct tern_callbacks *cb, void *userdata);
/* Closes the socket without DISCONNECT and frees everything. Accepts NULL. */
void tern_client_free(struct tern_client *c);

/* Opens the TCP (and SOCKS5, and TLS) connection without blocking, except for the host name
 * lookup, and queues CONNECT. Messages still unacknowledged from an earlier connection are resent
 * with DUP after CONNACK. 0, TERN_ERROR_INVAL (bad options), TERN_ERROR_NOTFOUND (host, or the
 * proxy's host), TERN_ERROR_IO, TERN_ERROR_TLS, TERN_ERROR_NOMEM. */
int tern_client_connect(struct tern_client *c, const struct tern_connect_options *opt,
                        uint64_t now_ms);
/* Reconnects with the options of the last tern_client_connect (closing any current socket). */
int tern_client_reconnect(struct tern_client *c, uint64_t now_ms);
/* Like tern_client_connect but without a socket: the application moves the bytes itself with
 * tern_client_feed() and tern_client_output()/tern_client_output_done() (tests, WebSocket). */
int tern_client_start(struct tern_client *c, const struct tern_connect_options *opt,
                      uint64_t now_ms);

/* Sends DISCONNECT (v5 with reason and props) and closes once the output is written; ends
 * automatic reconnecting. While a reconnect is only scheduled, cancels it and returns 0. */
int tern_client_disconnect(struct tern_client *c, uint8_t reason, const struct tern_props *props);

/* Publishes. topic must be a valid topic name (or empty with a topic alias in props, v5).
 * payload and props are copied. *packet_id (may be NULL) receives the id for QoS > 0, 0 for
 * QoS 0. The message is queued when the inflight window is full or not yet connected.
 * 0, TERN_ERROR_INVAL, TERN_ERROR_TOOBIG (over the server's maximum packet size),
 * TERN_ERROR_FULL (65535 messages outstanding), TERN_ERROR_NOMEM. */
int tern_client_publish(struct tern_client *c, const char *topic, struct tern_str payload,
                        uint8_t qos, bool retain, const struct tern_props *props,
                        uint16_t *packet_id);
/* Subscribes to subs[0..count). Needs a started connection. 0 or TERN_ERROR_*. */
int tern_client_subscribe(struct tern_client *c, const struct tern_sub *subs, size_t count,
                          const struct tern_props *props, uint16_t *packet_id);
int tern_client_unsubscribe(struct tern_client *c, const char *const *filters, size_t count,
                            const struct tern_props *props, uint16_t *packet_id);

/* ---- Event loop integration ---- */

/* The socket to watch, or -1. Always watch it for reading; for writing when wants_write. */
int tern_client_fd(const struct tern_client *c);
bool tern_client_wants_write(const struct tern_client *c);
/* Call when the socket is readable / writable. Return 0, or the error that closed the
 * connection (on_disconnect has then been called). */
int tern_client_on_readable(struct tern_client *c);
int tern_client_on_writable(struct tern_client *c);
/* Advances time: keep alive (PINGREQ, timeout) and a due automatic reconnect (which opens a
 * new socket: fetch tern_client_fd() again afterwards). Call at least by next_timeout_ms. */
int tern_client_tick(struct tern_client *c, uint64_t now_ms);
/* Milliseconds from the last known time until tick() has work, or -1 for none. */
int64_t tern_client_next_timeout_ms(const struct tern_client *c);

/* ---- Custom transport (see tern_client_start) ---- */

/* Bytes received from the peer. 0 or the error that closed the connection. */
int tern_client_feed(struct tern_client *c, const void *data, size_t len);
/* Bytes waiting to be sent: returns the count and sets *data (valid until the next call). */
size_t tern_client_output(struct tern_client *c, const uint8_t **data);
/* n bytes of that output were sent. */
void tern_client_output_done(struct tern_client *c, size_t n);

/* ---- State ---- */

bool tern_client_is_connected(const struct tern_client *c); /* CONNACK accepted */
bool tern_client_is_closed(const struct tern_client *c);    /* no connection (not started) */
/* True while an automatic reconnect is scheduled (the client is closed meanwhile). */
bool tern_client_is_reconnecting(const struct tern_client *c);
/* QoS 1/2 messages not yet completed (queued or inflight). */
size_t tern_client_pending(const struct tern_client *c);
/* True while the QoS > 0 message with this packet id is still unacknowledged. */
bool tern_client_is_pending(const struct tern_client *c, uint16_t packet_id);
/* The last CONNACK reason (0 = accepted) and the last close error. */
uint8_t tern_client_connack_reason(const struct tern_client *c);
int tern_client_last_error(const struct tern_client *c);
uint8_t tern_client_version(const struct tern_client *c);

/* ---- Blocking convenience API (poll(); drives the same core) ---- */

/* Connects and runs until CONNACK. 0; TERN_ERROR_DENIED when the server refused (see
 * tern_client_connack_reason); TERN_ERROR_TIMEDOUT; or the connect/IO error.
 * timeout_ms < 0 waits forever. */
int tern_client_connect_blocking(struct tern_client *c, const struct tern_connect_options *opt,
                                 int timeout_ms);
/* Publishes and runs until it completes (QoS 0: written to the socket; QoS 1: PUBACK; QoS 2:
 * PUBCOMP). 0 only then; otherwise TERN_ERROR_TIMEDOUT (the message stays queued and is still
 * sent, tern_client_is_pending tells), the error that closed the connection, or the publish
 * error. tern_client_stop() called meanwhile (from a callback) does not end the wait: it is
 * kept for the next tern_client_run. The same holds for the other *_blocking calls. */
int tern_client_publish_blocking(struct tern_client *c, const char *topic, struct tern_str payload,
                                 uint8_t qos, bool retain, const struct tern_props *props,
                                 int timeout_ms);
/* Disconnects and runs until the socket is closed. */
int tern_client_disconnect_blocking(struct tern_client *c, int timeout_ms);
/* One poll() round of at most timeout_ms (also bounded by keep alive and a scheduled
 * reconnect, which it performs when due). 0 or the close error; TERN_ERROR_CLOSED when not
 * connected and no reconnect is scheduled. */
int tern_client_run_once(struct tern_client *c, int timeout_ms);
/* Runs until the connection closes for good (automatic reconnects continue the run),
 * tern_client_stop() is called, or timeout_ms passes (< 0 = no limit). 0 after a clean disconnect
 * or stop, TERN_ERROR_TIMEDOUT, or the error. */
int tern_client_run(struct tern_client *c, int timeout_ms);
/* Makes tern_client_run() return after the current round (call from a callback). Only
 * tern_client_run stops: a *_blocking call running at the time goes on waiting for its own
 * condition, and the request then ends the next (or the enclosing) tern_client_run. */
void tern_client_stop(struct tern_client *c);

#endif
