/* Fuzz target for the SCRAM-SHA-256/512 server (scram_server_step). Byte 0: bit 0 = mechanism
 * (0 SHA-256, 1 SHA-512), bit 1 = the harness writes the client-final message itself, as a
 * real client with the right password would. The rest is "client-first [\0 client-final]".
 * Known users: "user" and "a,b=c" (as "a=2Cb=3Dc"), password "pencil", salt "tern-fuzz-salt",
 * 16 iterations. Invariants: replies are well-formed and carry the client nonce; with a correct
 * proof from the harness a known user succeeds (server signature checked independently with
 * OpenSSL) and an unknown one is refused; nothing else ever succeeds; the exchange ends. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "err.h"
#include "fuzz_target.h"
#include "scram.h"

#define SNONCE     "fuzzSERVERnonce"
#define PASSWORD   "pencil"
#define SALT       "tern-fuzz-salt"
#define ITERATIONS 16
#define OUT_CAP    2048

static struct scram_cred creds[2];
static bool creds_ready;

static int lookup(void *arg, enum scram_mech mech, const char *username, struct scram_cred *out)
{
    (void)arg;
    if (strcmp(username, "user") != 0 && strcmp(username, "a,b=c") != 0)
        return TERN_ENOTFOUND;
    *out = creds[mech];
    return 0;
}

static void init_creds(void)
{
    for (int m = 0; m < 2; m++)
        if (scram_cred_make((enum scram_mech)m, PASSWORD, strlen(PASSWORD), (const uint8_t *)SALT,
                            strlen(SALT), ITERATIONS, &creds[m]) != 0)
            abort();
    creds_ready = true;
}

/* The reference decoding of the client-first message's user name: "n=" up to ',', with "=2C"
 * and "=3D" decoded. Returns whether it is one of the known users. */
static bool known_user(const char *first)
{
    const char *n = strstr(first, ",n=");
    if (n == NULL)
        return false;
    n += 3;
    char name[64];
    size_t o = 0;
    for (; *n != ',' && *n != '\0'; n++) {
        if (o + 1 >= sizeof name)
            return false;
        if (strncmp(n, "=2C", 3) == 0) {
            name[o++] = ',';
            n += 2;
        } else if (strncmp(n, "=3D", 3) == 0) {
            name[o++] = '=';
            n += 2;
        } else {
            name[o++] = *n;
        }
    }
    name[o] = '\0';
    return strcmp(name, "user") == 0 || strcmp(name, "a,b=c") == 0;
}

struct client_keys {
    const EVP_MD *md;
    size_t hl;
    uint8_t client_key[64], stored_key[64], server_key[64];
};

static void client_keys(enum scram_mech mech, struct client_keys *k)
{
    uint8_t salted[64];
    unsigned n;
    k->md = mech == SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
    k->hl = (size_t)EVP_MD_get_size(k->md);
    if (PKCS5_PBKDF2_HMAC(PASSWORD, (int)strlen(PASSWORD), (const uint8_t *)SALT, (int)strlen(SALT),
                          ITERATIONS, k->md, (int)k->hl, salted) != 1 ||
        !HMAC(k->md, salted, (int)k->hl, (const uint8_t *)"Client Key", 10, k->client_key, &n) ||
        !HMAC(k->md, salted, (int)k->hl, (const uint8_t *)"Server Key", 10, k->server_key, &n) ||
        EVP_Digest(k->client_key, k->hl, k->stored_key, &n, k->md, NULL) != 1)
        abort();
}

/* Builds "c=..,r=..,p=.." for first/server_first into final (cap 2048) and the expected
 * "v=.." into verifier. */
static void make_final(enum scram_mech mech, const char *first, const char *server_first,
                       char *final, char *verifier)
{
    struct client_keys k;
    client_keys(mech, &k);
    const char *bare = strchr(strchr(first, ',') + 1, ',') + 1;
    char gs2_64[600], proof64[100];
    EVP_EncodeBlock((unsigned char *)gs2_64, (const unsigned char *)first, (int)(bare - first));
    size_t rlen = strcspn(server_first + 2, ",");
    int fl = snprintf(final, OUT_CAP, "c=%s,r=%.*s", gs2_64, (int)rlen, server_first + 2);
    static char auth_msg[4 * OUT_CAP];
    int al = snprintf(auth_msg, sizeof auth_msg, "%s,%s,%s", bare, server_first, final);
    uint8_t sig[64], proof[64], server_sig[64];
    unsigned n;
    if (fl < 0 || al < 0 || (size_t)al >= sizeof auth_msg ||
        !HMAC(k.md, k.stored_key, (int)k.hl, (uint8_t *)auth_msg, (size_t)al, sig, &n) ||
        !HMAC(k.md, k.server_key, (int)k.hl, (uint8_t *)auth_msg, (size_t)al, server_sig, &n))
        abort();
    for (size_t i = 0; i < k.hl; i++)
        proof[i] = k.client_key[i] ^ sig[i];
    EVP_EncodeBlock((unsigned char *)proof64, proof, (int)k.hl);
    snprintf(final + fl, OUT_CAP - (size_t)fl, ",p=%s", proof64);
    memcpy(verifier, "v=", 2);
    EVP_EncodeBlock((unsigned char *)verifier + 2, server_sig, (int)k.hl);
}

/* The server-first reply: "r=" client nonce + SNONCE ",s=" salt ",i=" count. */
static void check_server_first(const char *first, const char *out, size_t out_len)
{
    if (strlen(out) != out_len || strncmp(out, "r=", 2) != 0 || !strstr(out, ",s=") ||
        !strstr(out, ",i="))
        abort();
    const char *cnonce = strstr(first, ",r=") + 3;
    size_t clen = strcspn(cnonce, ",");
    if (strncmp(out + 2, cnonce, clen) != 0 || strncmp(out + 2 + clen, SNONCE, strlen(SNONCE)))
        abort();
}

static void run(enum scram_mech mech, bool auto_final, const char *first, const char *final_in,
                size_t final_len)
{
    struct scram_server *s = scram_server_new(mech, lookup, NULL);
    static char out[OUT_CAP], final[OUT_CAP], verifier[128];
    size_t out_len;
    if (s == NULL || scram_server_set_nonce(s, SNONCE) != 0)
        abort();
    int rc = scram_server_step(s, (const uint8_t *)first, strlen(first), (uint8_t *)out, sizeof out,
                               &out_len);
    if (rc != SCRAM_CONTINUE) {
        if (rc != TERN_EPROTO || out_len != 0)
            abort();
        goto done;
    }
    check_server_first(first, out, out_len);
    if (auto_final) {
        make_final(mech, first, out, final, verifier);
        final_in = final;
        final_len = strlen(final);
    }
    rc = scram_server_step(s, (const uint8_t *)final_in, final_len, (uint8_t *)out, sizeof out,
                           &out_len);
    if (auto_final && known_user(first)) {
        if (rc != SCRAM_SUCCESS || strcmp(out, verifier) != 0 || !scram_server_username(s))
            abort();
    } else if (auto_final && rc != TERN_EDENIED) {
        abort(); /* unknown users look like wrong passwords */
    } else if (!auto_final && rc != TERN_EDENIED && rc != TERN_EPROTO) {
        abort(); /* only the right proof succeeds: the fuzzer cannot forge one */
    }
done:
    if (rc != SCRAM_SUCCESS && scram_server_username(s) != NULL)
        abort();
    if (scram_server_step(s, (const uint8_t *)"x", 1, (uint8_t *)out, sizeof out, &out_len) !=
        TERN_EPROTO)
        abort(); /* the exchange is over */
    scram_server_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char first[OUT_CAP];
    if (!creds_ready)
        init_creds();
    if (size < 1)
        return 0;
    enum scram_mech mech = (data[0] & 1) ? SCRAM_SHA_512 : SCRAM_SHA_256;
    bool auto_final = (data[0] & 2) != 0;
    const uint8_t *rest = data + 1;
    size_t len = size - 1;
    const uint8_t *nul = memchr(rest, '\0', len);
    size_t first_len = nul ? (size_t)(nul - rest) : len;
    if (first_len >= sizeof first)
        return 0;
    memcpy(first, rest, first_len);
    first[first_len] = '\0';
    const char *final_in = nul ? (const char *)nul + 1 : "";
    size_t final_len = nul ? len - first_len - 1 : 0;
    run(mech, auto_final, first, final_in, final_len);
    return 0;
}
