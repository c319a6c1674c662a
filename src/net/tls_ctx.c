/* Server SSL_CTX construction from Mosquitto-style listener settings (OpenSSL 3), the PSK table
 * and server callback, atomic reference counting, and stat(2)-based change stamps. Every
 * failure names the file or option and OpenSSL's reason. No sockets and no SSL objects here. */
#include "tls_ctx.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "err.h"
#include "mem.h"

#define PSK_MAX_KEY 256

struct psk_entry {
    char *identity;
    unsigned char key[PSK_MAX_KEY];
    unsigned key_len;
};

struct tls_ctx {
    atomic_int refs;
    SSL_CTX *ssl;
    bool subject_identity;
    struct psk_entry *psk;
    size_t psk_count;
    bool psk_enabled;
};

/* Formats "what: reason" where reason is OpenSSL's last queued error (or fallback). */
static void set_err(char *err, size_t errlen, const char *fallback, const char *fmt, ...)
{
    char what[512];
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    if (e != 0) {
        const char *r = ERR_reason_error_string(e);
        snprintf(reason, sizeof reason, "%s", r ? r : "unknown OpenSSL error");
    } else {
        snprintf(reason, sizeof reason, "%s", fallback);
    }
    ERR_clear_error();
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: %s", what, reason);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses one "identity:hexkey" line into e; 0 or TERN_EINVAL. */
static int psk_parse_line(char *line, struct psk_entry *e)
{
    char *colon = strchr(line, ':');
    if (colon == NULL || colon == line)
        return TERN_EINVAL;
    *colon = '\0';
    const char *hex = colon + 1;
    size_t n = strlen(hex);
    if (n == 0 || n % 2 != 0 || n / 2 > PSK_MAX_KEY)
        return TERN_EINVAL;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval((unsigned char)hex[i]), lo = hexval((unsigned char)hex[i + 1]);
        if (hi < 0 || lo < 0)
            return TERN_EINVAL;
        e->key[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    e->key_len = (unsigned)(n / 2);
    e->identity = mem_strdup(line);
    return e->identity ? 0 : TERN_ENOMEM;
}

static int psk_load(struct tls_ctx *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        set_err(err, errlen, strerror(errno), "psk_file %s", path);
        return TERN_ECONFIG;
    }
    char line[1024];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        struct psk_entry *grown = mem_realloc(c->psk, (c->psk_count + 1) * sizeof *grown);
        if (grown == NULL) {
            rc = TERN_ENOMEM;
            break;
        }
        c->psk = grown;
        memset(&c->psk[c->psk_count], 0, sizeof c->psk[0]);
        rc = psk_parse_line(line, &c->psk[c->psk_count]);
        if (rc == 0)
            c->psk_count++;
        else
            set_err(err, errlen, "expected identity:hexkey", "psk_file %s:%u", path, lineno);
    }
    fclose(f);
    return rc;
}

unsigned tls_ctx_psk_lookup(const struct tls_ctx *ctx, const char *identity, unsigned char *psk,
                            unsigned max_psk_len)
{
    if (identity == NULL)
        return 0;
    for (size_t i = 0; i < ctx->psk_count; i++) {
        const struct psk_entry *e = &ctx->psk[i];
        if (strcmp(e->identity, identity) == 0 && e->key_len <= max_psk_len) {
            memcpy(psk, e->key, e->key_len);
            return e->key_len;
        }
    }
    return 0; /* unknown identity: the handshake fails */
}

bool tls_ctx_has_psk(const struct tls_ctx *ctx)
{
    return ctx->psk_enabled;
}

static int set_min_version(SSL_CTX *ssl, const char *v, char *err, size_t errlen)
{
    int min = TLS1_2_VERSION;
    if (v == NULL || strcmp(v, "tlsv1.2") == 0)
        min = TLS1_2_VERSION;
    else if (strcmp(v, "tlsv1.3") == 0)
        min = TLS1_3_VERSION;
    else if (strcmp(v, "tlsv1.1") == 0)
        min = TLS1_1_VERSION;
    else {
        set_err(err, errlen, "expected tlsv1.1, tlsv1.2 or tlsv1.3", "tls_version %s", v);
        return TERN_ECONFIG;
    }
    if (SSL_CTX_set_min_proto_version(ssl, min) != 1) {
        set_err(err, errlen, "cannot set", "tls_version %s", v);
        return TERN_ECONFIG;
    }
    return 0;
}

static int load_dhparams(SSL_CTX *ssl, const char *path, char *err, size_t errlen)
{
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        set_err(err, errlen, "cannot open", "dhparamfile %s", path);
        return TERN_ECONFIG;
    }
    EVP_PKEY *dh = PEM_read_bio_Parameters(bio, NULL);
    BIO_free(bio);
    if (dh == NULL || SSL_CTX_set0_tmp_dh_pkey(ssl, dh) != 1) {
        EVP_PKEY_free(dh);
        set_err(err, errlen, "no DH parameters", "dhparamfile %s", path);
        return TERN_ECONFIG;
    }
    return 0; /* set0 took dh */
}

static int load_cert_and_key(SSL_CTX *ssl, const struct tls_settings *s, char *err, size_t errlen)
{
    if (s->certfile == NULL || s->keyfile == NULL) {
        set_err(err, errlen, "both must be set", "certfile/keyfile");
        return TERN_ECONFIG;
    }
    if (SSL_CTX_use_certificate_chain_file(ssl, s->certfile) != 1) {
        set_err(err, errlen, "cannot load", "certfile %s", s->certfile);
        return TERN_ECONFIG;
    }
    if (SSL_CTX_use_PrivateKey_file(ssl, s->keyfile, SSL_FILETYPE_PEM) != 1) {
        set_err(err, errlen, "cannot load", "keyfile %s", s->keyfile);
        return TERN_ECONFIG;
    }
    if (SSL_CTX_check_private_key(ssl) != 1) {
        set_err(err, errlen, "does not match the certificate", "keyfile %s", s->keyfile);
        return TERN_ECONFIG;
    }
    return 0;
}

/* Client certificate verification: CA locations, CRL and the verify mode. */
static int setup_verify(SSL_CTX *ssl, const struct tls_settings *s, char *err, size_t errlen)
{
    if (s->cafile != NULL || s->capath != NULL) {
        if (SSL_CTX_load_verify_locations(ssl, s->cafile, s->capath) != 1) {
            set_err(err, errlen, "cannot load", "cafile/capath %s",
                    s->cafile ? s->cafile : s->capath);
            return TERN_ECONFIG;
        }
    } else if (s->require_certificate) {
        set_err(err, errlen, "needs cafile or capath", "require_certificate");
        return TERN_ECONFIG;
    }
    if (s->crlfile != NULL) {
        X509_STORE *store = SSL_CTX_get_cert_store(ssl);
        X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        if (lookup == NULL || X509_load_crl_file(lookup, s->crlfile, X509_FILETYPE_PEM) < 1) {
            set_err(err, errlen, "no CRL loaded", "crlfile %s", s->crlfile);
            return TERN_ECONFIG;
        }
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    /* As Mosquitto: without require_certificate a client certificate is not asked for. */
    SSL_CTX_set_verify(ssl,
                       s->require_certificate ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                              : SSL_VERIFY_NONE,
                       NULL);
    return 0;
}

static int setup_ciphers(SSL_CTX *ssl, const struct tls_settings *s, char *err, size_t errlen)
{
    if (s->ciphers != NULL && SSL_CTX_set_cipher_list(ssl, s->ciphers) != 1) {
        set_err(err, errlen, "no usable cipher", "ciphers %s", s->ciphers);
        return TERN_ECONFIG;
    }
    if (s->ciphers_tls13 != NULL && SSL_CTX_set_ciphersuites(ssl, s->ciphers_tls13) != 1) {
        set_err(err, errlen, "no usable cipher suite", "ciphers_tls1.3 %s", s->ciphers_tls13);
        return TERN_ECONFIG;
    }
    return 0;
}

static int setup_psk(struct tls_ctx *c, const struct tls_settings *s, char *err, size_t errlen)
{
    if (s->psk_file == NULL) {
        set_err(err, errlen, "psk_hint is set but psk_file is not", "psk_file");
        return TERN_ECONFIG;
    }
    int rc = psk_load(c, s->psk_file, err, errlen);
    if (rc != 0)
        return rc;
    if (SSL_CTX_use_psk_identity_hint(c->ssl, s->psk_hint) != 1) {
        set_err(err, errlen, "cannot set", "psk_hint %s", s->psk_hint);
        return TERN_ECONFIG;
    }
    c->psk_enabled = true; /* transport_tls sets the per-connection callback */
    return 0;
}

static int configure(struct tls_ctx *c, const struct tls_settings *s, char *err, size_t errlen)
{
    if (s->tls_keyform != NULL && strcmp(s->tls_keyform, "pem") != 0) {
        set_err(err, errlen, "only pem is supported (no engine keys)", "tls_keyform %s",
                s->tls_keyform);
        return TERN_ECONFIG;
    }
    bool psk = s->psk_hint != NULL;
    if (!psk && (s->certfile == NULL || s->keyfile == NULL)) {
        set_err(err, errlen, "a TLS listener needs certfile and keyfile (or psk_hint)",
                "certfile/keyfile");
        return TERN_ECONFIG;
    }
    SSL_CTX_set_options(c->ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                 SSL_MODE_RELEASE_BUFFERS);
    static const unsigned char sid_ctx[] = "tern";
    SSL_CTX_set_session_id_context(c->ssl, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_app_data(c->ssl, c);
    int rc = set_min_version(c->ssl, s->tls_version, err, errlen);
    if (rc == 0 && (s->certfile != NULL || s->keyfile != NULL))
        rc = load_cert_and_key(c->ssl, s, err, errlen);
    if (rc == 0)
        rc = setup_verify(c->ssl, s, err, errlen);
    if (rc == 0)
        rc = setup_ciphers(c->ssl, s, err, errlen);
    if (rc == 0 && s->dhparamfile != NULL)
        rc = load_dhparams(c->ssl, s->dhparamfile, err, errlen);
    if (rc == 0 && psk)
        rc = setup_psk(c, s, err, errlen);
    return rc;
}

static void ctx_free(struct tls_ctx *c)
{
    SSL_CTX_free(c->ssl);
    for (size_t i = 0; i < c->psk_count; i++) {
        OPENSSL_cleanse(c->psk[i].key, sizeof c->psk[i].key);
        mem_free(c->psk[i].identity);
    }
    mem_free(c->psk);
    mem_free(c);
}

struct tls_ctx *tls_ctx_new(const struct tls_settings *s, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    ERR_clear_error();
    struct tls_ctx *c = mem_calloc(1, sizeof *c);
    if (c == NULL) {
        set_err(err, errlen, "out of memory", "TLS context");
        return NULL;
    }
    atomic_init(&c->refs, 1);
    c->subject_identity = s->use_subject_as_username;
    c->ssl = SSL_CTX_new(TLS_server_method());
    if (c->ssl == NULL) {
        set_err(err, errlen, "cannot create", "TLS context");
        goto fail;
    }
    if (configure(c, s, err, errlen) != 0)
        goto fail;
    return c;
fail:
    ctx_free(c);
    return NULL;
}

struct tls_ctx *tls_ctx_ref(struct tls_ctx *ctx)
{
    atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

void tls_ctx_unref(struct tls_ctx *ctx)
{
    if (ctx != NULL && atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) == 1)
        ctx_free(ctx);
}

bool tls_ctx_subject_identity(const struct tls_ctx *ctx)
{
    return ctx->subject_identity;
}

void *tls_ctx_ssl_ctx(const struct tls_ctx *ctx)
{
    return ctx->ssl;
}

static void stamp_one(const char *path, struct tls_file_stamp *st)
{
    struct stat sb;
    memset(st, 0, sizeof *st);
    if (path == NULL || stat(path, &sb) != 0)
        return;
    st->exists = true;
    st->dev = (uint64_t)sb.st_dev;
    st->ino = (uint64_t)sb.st_ino;
    st->size = (uint64_t)sb.st_size;
    st->mtime_s = (int64_t)sb.st_mtim.tv_sec;
    st->mtime_ns = (int64_t)sb.st_mtim.tv_nsec;
}

void tls_files_stamp(const struct tls_settings *s, struct tls_files_stamp *out)
{
    const char *paths[TLS_STAMP_FILES] = {s->certfile, s->keyfile,     s->cafile,  s->capath,
                                          s->crlfile,  s->dhparamfile, s->psk_file};
    for (int i = 0; i < TLS_STAMP_FILES; i++)
        stamp_one(paths[i], &out->f[i]);
}

bool tls_files_changed(const struct tls_settings *s, struct tls_files_stamp *st)
{
    struct tls_files_stamp now;
    tls_files_stamp(s, &now);
    bool changed = false;
    for (int i = 0; i < TLS_STAMP_FILES; i++) {
        const struct tls_file_stamp *a = &now.f[i], *b = &st->f[i];
        if (a->exists != b->exists || a->dev != b->dev || a->ino != b->ino || a->size != b->size ||
            a->mtime_s != b->mtime_s || a->mtime_ns != b->mtime_ns)
            changed = true;
    }
    *st = now;
    return changed;
}
