/* libtern error codes. Every int-returning libtern function returns 0 on success or one of the
 * negative TERN_ERROR_* codes below. MQTT reason codes (CONNACK, PUBACK, SUBACK, DISCONNECT) are
 * separate: they are plain uint8_t values with the spec's numbers and never travel as errors.
 * Thread-safe: the functions here keep no state. */
#ifndef TERN_PUBLIC_ERRORS_H
#define TERN_PUBLIC_ERRORS_H

enum tern_error {
    TERN_ERROR_OK = 0,
    TERN_ERROR_AGAIN = -1,     /* would block / need more input */
    TERN_ERROR_PROTO = -2,     /* the peer broke the protocol */
    TERN_ERROR_NOMEM = -3,     /* out of memory */
    TERN_ERROR_INVAL = -4,     /* invalid argument or call in the wrong state */
    TERN_ERROR_TOOBIG = -5,    /* a packet is larger than allowed */
    TERN_ERROR_IO = -6,        /* socket error */
    TERN_ERROR_CLOSED = -7,    /* the connection is closed */
    TERN_ERROR_NOTFOUND = -8,  /* host or item not found */
    TERN_ERROR_EXIST = -9,     /* already exists */
    TERN_ERROR_TIMEDOUT = -10, /* keep alive or blocking call timed out */
    TERN_ERROR_CONFIG = -11,   /* bad option or file */
    TERN_ERROR_DENIED = -12,   /* the server refused the connection (see the CONNACK reason) */
    TERN_ERROR_FULL = -13,     /* inflight window or queue full */
    TERN_ERROR_TLS = -14,      /* TLS handshake or certificate failure */
    TERN_ERROR_SYS = -15,      /* a system call failed */
    /* SOCKS5 proxy (tern_connect_options.proxy_url): the proxy refused the user name and
     * password, or refused to open the connection to the server for a reason other than
     * "connection refused" / "unreachable" (those are TERN_ERROR_CLOSED / TERN_ERROR_IO). */
    TERN_ERROR_PROXY = -16,
    /* The SOCKS5 proxy accepts none of the offered authentication methods ("no
     * authentication", and "user name and password" when the URL has a user name). */
    TERN_ERROR_PROXY_AUTH = -17,
};

/* A short English message for err ("connection closed"); never NULL. */
const char *tern_error_string(int err);

#endif
