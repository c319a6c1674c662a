/* A server TLS context built from one listener's Mosquitto-style settings (certificates, CA,
 * CRL, ciphers, minimum version, DH parameters, TLS-PSK), refcounted so a listener can swap in a
 * new one at runtime while connections keep the one they started with; plus cheap file stamps so
 * the broker can poll for rotated files. It does not own sockets (see transport_tls.h). */
#ifndef TERN_NET_TLS_CTX_H
#define TERN_NET_TLS_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Mirrors the mosquitto.conf listener options; every string may be NULL (= not set). The strings
 * are only read during tls_ctx_new() and tls_files_*(); the caller keeps them. */
struct tls_settings {
    const char *cafile;            /* PEM CA bundle that client certificates must chain to */
    const char *capath;            /* directory of hashed CA certificates (c_rehash) */
    const char *certfile;          /* PEM server certificate (chain) */
    const char *keyfile;           /* PEM private key of certfile */
    const char *crlfile;           /* PEM CRL; enables CRL checking of client certificates */
    const char *ciphers;           /* OpenSSL cipher list for TLS <= 1.2 */
    const char *ciphers_tls13;     /* "ciphers_tls1.3": TLS 1.3 cipher suites */
    const char *tls_version;       /* minimum version: "tlsv1.1", "tlsv1.2" (default), "tlsv1.3" */
    const char *dhparamfile;       /* PEM DH parameters for DHE cipher suites */
    const char *psk_hint;          /* enables TLS-PSK on the listener; sent as the identity hint */
    const char *psk_file;          /* "identity:hexkey" lines (Mosquitto's psk_file) */
    const char *tls_keyform;       /* "pem" (default); "engine" is refused */
    bool require_certificate;      /* clients must present a certificate valid for cafile/capath */
    bool use_identity_as_username; /* tls_peer_identity(): certificate CN (or PSK identity) */
    bool use_subject_as_username;  /* tls_peer_identity(): RFC 2253 subject of the certificate */
};

struct tls_ctx;

/* Builds a context. Needs certfile+keyfile, or psk_hint+psk_file (PSK only), or both. Returns
 * NULL on failure with err (size errlen, may be NULL) set to a readable reason that names the
 * offending file or option and OpenSSL's reason, e.g.
 * "keyfile /etc/tern/key.pem: key values mismatch". The result has one reference. */
struct tls_ctx *tls_ctx_new(const struct tls_settings *s, char *err, size_t errlen);
/* Takes another reference; returns ctx. Thread-safe (atomic). */
struct tls_ctx *tls_ctx_ref(struct tls_ctx *ctx);
/* Drops a reference, freeing at zero. Accepts NULL. Thread-safe (atomic). */
void tls_ctx_unref(struct tls_ctx *ctx);
/* True when the settings had use_subject_as_username (tls_peer_identity gives the subject). */
bool tls_ctx_subject_identity(const struct tls_ctx *ctx);

/* PSK enabled (psk_hint set) and the key lookup for transport_tls.c's server callback: copies the
 * key of identity into psk and returns its length, or 0 when unknown or longer than max. */
bool tls_ctx_has_psk(const struct tls_ctx *ctx);
unsigned tls_ctx_psk_lookup(const struct tls_ctx *ctx, const char *identity, unsigned char *psk,
                            unsigned max_psk_len);

/* The underlying SSL_CTX (for transport_tls.c); the reference stays with ctx. */
void *tls_ctx_ssl_ctx(const struct tls_ctx *ctx);

/* One file's identity for change detection. */
struct tls_file_stamp {
    bool exists;
    uint64_t dev, ino, size;
    int64_t mtime_s, mtime_ns;
};

/* The files of a context: certfile, keyfile, cafile, capath (directory), crlfile, dhparamfile,
 * psk_file. */
enum { TLS_STAMP_FILES = 7 };
struct tls_files_stamp {
    struct tls_file_stamp f[TLS_STAMP_FILES];
};

/* Records the current stamps of s's files (stat(2) only, no reading). */
void tls_files_stamp(const struct tls_settings *s, struct tls_files_stamp *out);
/* Re-stats s's files; returns true (and updates *st) when any of them appeared, disappeared or
 * changed inode, size or mtime since *st was taken. Cheap enough to call every few seconds. */
bool tls_files_changed(const struct tls_settings *s, struct tls_files_stamp *st);

#endif
