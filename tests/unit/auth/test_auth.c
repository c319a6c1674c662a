/* Unit tests for the password file (files made by Debian's mosquitto_passwd, our own lines,
 * argon2id, errors with file:line) and SCRAM (RFC 7677 SHA-256 vector, a client written here
 * against a scram_file and against a mosquitto_passwd $7$ entry, refusals). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "err.h"
#include "passwd_file.h"
#include "scram.h"
#include "scram_file.h"
#include "unit.h"

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/tern-auth-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
            abort();
    }
    snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
    return b;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
}

static bool check(const struct passwd_file *db, const char *user, const char *pw)
{
    return passwd_file_check(db, user, pw, strlen(pw));
}

static void test_mosquitto_passwd_files(void)
{
    const char *pw = tmp_path("mosq.pw");
    char cmd[600];
    snprintf(cmd, sizeof cmd,
             "mosquitto_passwd -b -c %s alice secret && "
             "mosquitto_passwd -H sha512 -b %s bob hunter2 && "
             "mosquitto_passwd -H sha512-pbkdf2 -b %s carol 'p:w d$'",
             pw, pw, pw);
    REQUIRE(system(cmd) == 0); /* mosquitto-clients is a test dependency (scripts/deps.sh) */
    struct passwd_file *db = NULL;
    char err[256];
    REQUIRE(passwd_file_load(pw, &db, err, sizeof err) == 0);
    CHECK_EQ_INT(passwd_file_count(db), 3);
    CHECK(check(db, "alice", "secret"));
    CHECK(check(db, "bob", "hunter2"));
    CHECK(check(db, "carol", "p:w d$"));
    CHECK(!check(db, "alice", "Secret"));
    CHECK(!check(db, "alice", "secret "));
    CHECK(!check(db, "alice", ""));
    CHECK(!check(db, "bob", "secret"));
    CHECK(!check(db, "mallory", "secret"));
    CHECK(!check(db, "", "secret"));
    CHECK(!passwd_file_check(db, NULL, "x", 1));
    passwd_file_free(db);
}

static void test_hash_lines_roundtrip(void)
{
    char l6[256], l7[256], la[256], text[1024];
    static const char nul_pw[] = {'a', '\0', 'b'};
    CHECK_EQ_INT(passwd_file_hash_line("u6", "pw6", 3, PASSWD_SHA512, 0, l6, sizeof l6), 0);
    CHECK(strncmp(l6, "u6:$6$", 6) == 0);
    CHECK_EQ_INT(passwd_file_hash_line("u7", nul_pw, 3, PASSWD_SHA512_PBKDF2, 1000, l7, sizeof l7),
                 0);
    CHECK(strncmp(l7, "u7:$7$1000$", 11) == 0);
    CHECK_EQ_INT(passwd_file_hash_line("a:b", "x", 1, PASSWD_SHA512, 0, l6, sizeof l6),
                 TERN_EINVAL);
    CHECK_EQ_INT(passwd_file_hash_line("u", "x", 1, PASSWD_SHA512, 0, la, 20), TERN_ETOOBIG);
    int ra = passwd_file_hash_line("ua", "pwa", 3, PASSWD_ARGON2ID, 1, la, sizeof la);
    if (passwd_file_argon2_supported()) {
        CHECK_EQ_INT(ra, 0);
        CHECK(strncmp(la, "ua:$argon2id$v=19$", 18) == 0);
    } else {
        CHECK_EQ_INT(ra, TERN_EINVAL);
        snprintf(la, sizeof la, "ua:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA");
    }
    snprintf(text, sizeof text, "# made by tests\n\n%s\n%s\r\n%s\n", l6, l7, la);
    write_file(tmp_path("own.pw"), text);
    struct passwd_file *db = NULL;
    char err[256];
    int rc = passwd_file_load(tmp_path("own.pw"), &db, err, sizeof err);
    if (!passwd_file_argon2_supported()) {
        CHECK_EQ_INT(rc, TERN_ECONFIG);
        CHECK(strstr(err, "own.pw:5: argon2id") != NULL);
        return;
    }
    REQUIRE(rc == 0);
    CHECK(check(db, "u6", "pw6"));
    CHECK(passwd_file_check(db, "u7", nul_pw, 3));
    CHECK(!passwd_file_check(db, "u7", "a", 1)); /* the NUL is part of the password */
    CHECK(check(db, "ua", "pwa"));
    CHECK(!check(db, "ua", "pwb"));
    passwd_file_free(db);
}

static void expect_load_error(const char *text, const char *needle)
{
    struct passwd_file *db = NULL;
    char err[256];
    write_file(tmp_path("bad.pw"), text);
    CHECK_EQ_INT(passwd_file_load(tmp_path("bad.pw"), &db, err, sizeof err), TERN_ECONFIG);
    CHECK(db == NULL);
    if (strstr(err, needle) == NULL) {
        fprintf(stderr, "error '%s' lacks '%s'\n", err, needle);
        CHECK(!"error text");
    }
}

static void test_passwd_errors(void)
{
    char good[256], text[600];
    REQUIRE(passwd_file_hash_line("ok", "x", 1, PASSWD_SHA512, 0, good, sizeof good) == 0);
    snprintf(text, sizeof text, "%s\nplain:password\n", good);
    expect_load_error(text, "bad.pw:2: plain-text password");
    expect_load_error("nocolon\n", "bad.pw:1: expected user:hash");
    expect_load_error("#c\nu:$5$abc$def\n", "bad.pw:2: unknown hash type");
    expect_load_error("u:$7$x$c2FsdA==$aGFzaA==\n", "bad.pw:1: bad iteration count");
    expect_load_error("u:$6$c2FsdA==$aGFzaA==\n", "bad.pw:1: bad base64 hash");
    expect_load_error(":$6$c2FsdA==$aGFzaA==\n", "bad.pw:1: empty user name");
    snprintf(text, sizeof text, "%s\n%s\n", good, good);
    expect_load_error(text, "duplicate user 'ok'");
    struct passwd_file *db = NULL;
    char err[256];
    CHECK_EQ_INT(passwd_file_load(tmp_path("absent.pw"), &db, err, sizeof err), TERN_EIO);
    CHECK(strstr(err, "absent.pw") != NULL);
}

/* ---- SCRAM: a client written here (RFC 5802 section 3) ---- */

static void client_final(enum scram_mech mech, const char *password, const uint8_t *salt,
                         size_t salt_len, unsigned iter, const char *auth_msg_prefix,
                         const char *without_proof, char *out, size_t cap, uint8_t *server_sig)
{
    const EVP_MD *md = mech == SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
    size_t hl = scram_hash_len(mech);
    uint8_t salted[64], ckey[64], stored[64], csig[64], proof[64], skey[64];
    unsigned n;
    char auth_msg[2048], proof64[200];
    PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iter, md, (int)hl,
                      salted);
    HMAC(md, salted, (int)hl, (const uint8_t *)"Client Key", 10, ckey, &n);
    EVP_Digest(ckey, hl, stored, &n, md, NULL);
    snprintf(auth_msg, sizeof auth_msg, "%s,%s", auth_msg_prefix, without_proof);
    HMAC(md, stored, (int)hl, (const uint8_t *)auth_msg, strlen(auth_msg), csig, &n);
    for (size_t i = 0; i < hl; i++)
        proof[i] = ckey[i] ^ csig[i];
    EVP_EncodeBlock((uint8_t *)proof64, proof, (int)hl);
    snprintf(out, cap, "%s,p=%s", without_proof, proof64);
    HMAC(md, salted, (int)hl, (const uint8_t *)"Server Key", 10, skey, &n);
    HMAC(md, skey, (int)hl, (const uint8_t *)auth_msg, strlen(auth_msg), server_sig, &n);
}

static int vector_lookup(void *arg, enum scram_mech mech, const char *user, struct scram_cred *c)
{
    (void)arg;
    static const uint8_t salt[] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
                                   0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81};
    if (strcmp(user, "user") != 0)
        return TERN_ENOTFOUND;
    return scram_cred_make(mech, "pencil", 6, salt, sizeof salt, 4096, c);
}

static int step_str(struct scram_server *s, const char *in, char *out, size_t cap)
{
    size_t n = 0;
    int rc = scram_server_step(s, (const uint8_t *)in, strlen(in), (uint8_t *)out, cap - 1, &n);
    out[rc > 0 ? n : 0] = '\0';
    return rc;
}

static void test_scram_rfc7677_vector(void)
{
    enum scram_mech mech;
    REQUIRE(scram_mech_from_name("SCRAM-SHA-256", &mech) == 0);
    CHECK_EQ_INT(scram_mech_from_name("SCRAM-SHA-1", &mech), TERN_ENOTFOUND);
    struct scram_server *s = scram_server_new(SCRAM_SHA_256, vector_lookup, NULL);
    REQUIRE(s != NULL);
    REQUIRE(scram_server_set_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0") == 0);
    char out[512];
    CHECK_EQ_INT(step_str(s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", out, sizeof out), SCRAM_CONTINUE);
    CHECK(strcmp(out, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                      "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096") == 0);
    CHECK(scram_server_username(s) == NULL);
    CHECK_EQ_INT(step_str(s,
                          "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                          "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                          out, sizeof out),
                 SCRAM_SUCCESS);
    CHECK(strcmp(out, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") == 0);
    CHECK(scram_server_username(s) != NULL && strcmp(scram_server_username(s), "user") == 0);
    CHECK_EQ_INT(step_str(s, "n,,n=user,r=x", out, sizeof out), TERN_EPROTO); /* over */
    scram_server_free(s);
}

/* Runs a whole exchange as a client; returns the server's final verdict. */
static int scram_exchange(enum scram_mech mech, scram_lookup_fn fn, void *arg, const char *user,
                          const char *password)
{
    struct scram_server *s = scram_server_new(mech, fn, arg);
    char first[300], sfirst[512], final[1024], out[512], bare[256], without[600];
    uint8_t salt[64], server_sig[64], sig64[200];
    snprintf(bare, sizeof bare, "n=%.200s,r=clientNonce123", user);
    snprintf(first, sizeof first, "n,,%s", bare);
    int rc = step_str(s, first, sfirst, sizeof sfirst);
    if (rc != SCRAM_CONTINUE)
        goto done;
    /* r=NONCE,s=SALT,i=ITER */
    char nonce[300], salt64[200];
    unsigned iter = 0;
    if (sscanf(sfirst, "r=%299[^,],s=%199[^,],i=%u", nonce, salt64, &iter) != 3) {
        rc = -100;
        goto done;
    }
    int sl = EVP_DecodeBlock(salt, (const uint8_t *)salt64, (int)strlen(salt64));
    sl -= (int)(strlen(salt64) - strcspn(salt64, "="));
    snprintf(without, sizeof without, "c=biws,r=%s", nonce);
    char prefix[1024];
    snprintf(prefix, sizeof prefix, "%s,%s", bare, sfirst);
    client_final(mech, password, salt, (size_t)sl, iter, prefix, without, final, sizeof final,
                 server_sig);
    rc = step_str(s, final, out, sizeof out);
    if (rc == SCRAM_SUCCESS) {
        EVP_EncodeBlock(sig64, server_sig, (int)scram_hash_len(mech));
        if (strncmp(out, "v=", 2) != 0 || strcmp(out + 2, (const char *)sig64) != 0)
            rc = -101; /* the client must be able to verify the server */
    }
done:
    scram_server_free(s);
    return rc;
}

static void test_scram_file_exchange(void)
{
    char l256[512], l512[512], text[1200];
    REQUIRE(scram_file_make_line("ann", SCRAM_SHA_256, "pw one", 6, 0, l256, sizeof l256) == 0);
    REQUIRE(scram_file_make_line("ann", SCRAM_SHA_512, "pw two", 6, 5000, l512, sizeof l512) == 0);
    CHECK(strncmp(l256, "ann:SCRAM-SHA-256:4096:", 23) == 0);
    CHECK(strncmp(l512, "ann:SCRAM-SHA-512:5000:", 23) == 0);
    snprintf(text, sizeof text, "# scram\n%s\n%s\n", l256, l512);
    write_file(tmp_path("scram"), text);
    struct scram_file *sf = NULL;
    char err[256];
    REQUIRE(scram_file_load(tmp_path("scram"), &sf, err, sizeof err) == 0);
    CHECK_EQ_INT(scram_exchange(SCRAM_SHA_256, scram_file_lookup, sf, "ann", "pw one"),
                 SCRAM_SUCCESS);
    CHECK_EQ_INT(scram_exchange(SCRAM_SHA_512, scram_file_lookup, sf, "ann", "pw two"),
                 SCRAM_SUCCESS);
    CHECK_EQ_INT(scram_exchange(SCRAM_SHA_256, scram_file_lookup, sf, "ann", "pw two"),
                 TERN_EDENIED);
    CHECK_EQ_INT(scram_exchange(SCRAM_SHA_256, scram_file_lookup, sf, "bob", "pw one"),
                 TERN_EDENIED);
    scram_file_free(sf);
    write_file(tmp_path("scram.bad"), "ann:SCRAM-SHA-1:4096:c2FsdA==:a:b\n");
    CHECK_EQ_INT(scram_file_load(tmp_path("scram.bad"), &sf, err, sizeof err), TERN_ECONFIG);
    CHECK(strstr(err, "scram.bad:1: unknown mechanism") != NULL);
}

static void test_scram_over_mosquitto_passwd(void)
{
    const char *pw = tmp_path("scram.pw");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mosquitto_passwd -b -c %s dora 'd0ra!'", pw);
    REQUIRE(system(cmd) == 0);
    struct passwd_file *db = NULL;
    char err[256];
    REQUIRE(passwd_file_load(pw, &db, err, sizeof err) == 0);
    CHECK_EQ_INT(scram_exchange(SCRAM_SHA_512, scram_file_lookup_passwd, db, "dora", "d0ra!"),
                 SCRAM_SUCCESS);
    CHECK_EQ_INT(scram_exchange(SCRAM_SHA_512, scram_file_lookup_passwd, db, "dora", "dora"),
                 TERN_EDENIED);
    CHECK_EQ_INT(scram_exchange(SCRAM_SHA_256, scram_file_lookup_passwd, db, "dora", "d0ra!"),
                 TERN_EDENIED);
    passwd_file_free(db);
}

static void test_scram_malformed(void)
{
    static const char *bad_first[] = {"p=tls-unique,,n=user,r=abc",
                                      "n,,m=ext,n=user,r=abc",
                                      "n,,n=,r=abc",
                                      "n,,n=us=er,r=abc",
                                      "n,,n=user",
                                      "x,,n=u,r=a",
                                      "n,,n=user,r="};
    char out[512];
    for (size_t i = 0; i < sizeof bad_first / sizeof bad_first[0]; i++) {
        struct scram_server *s = scram_server_new(SCRAM_SHA_256, vector_lookup, NULL);
        REQUIRE(s != NULL);
        CHECK_EQ_INT(step_str(s, bad_first[i], out, sizeof out), TERN_EPROTO);
        scram_server_free(s);
    }
    /* A final message with a different nonce or channel binding is refused. */
    static const char *bad_final[] = {"c=biws,r=WRONG,p=AAAA",
                                      "c=eSws,r=rOprNGfwEbeRWgbNEkqOxyz,p=AAAA",
                                      "c=biws,r=rOprNGfwEbeRWgbNEkqOxyz"};
    for (size_t i = 0; i < sizeof bad_final / sizeof bad_final[0]; i++) {
        struct scram_server *s = scram_server_new(SCRAM_SHA_256, vector_lookup, NULL);
        REQUIRE(s != NULL);
        REQUIRE(scram_server_set_nonce(s, "xyz") == 0);
        CHECK_EQ_INT(step_str(s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", out, sizeof out),
                     SCRAM_CONTINUE);
        CHECK_EQ_INT(step_str(s, bad_final[i], out, sizeof out), TERN_EPROTO);
        scram_server_free(s);
    }
    /* "=2C" decodes to ',' in user names; unknown users still get a salt. */
    struct scram_server *s = scram_server_new(SCRAM_SHA_256, vector_lookup, NULL);
    REQUIRE(s != NULL);
    CHECK_EQ_INT(step_str(s, "n,,n=a=2Cb,r=abc", out, sizeof out), SCRAM_CONTINUE);
    CHECK(strstr(out, ",s=") != NULL && strstr(out, ",i=4096") != NULL);
    scram_server_free(s);
}

static void test_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    CHECK(tmpdir[0] != '\0' && system(cmd) == 0);
    CHECK(access(tmpdir, F_OK) != 0);
}

UNIT_MAIN(UNIT_TEST(test_mosquitto_passwd_files), UNIT_TEST(test_hash_lines_roundtrip),
          UNIT_TEST(test_passwd_errors), UNIT_TEST(test_scram_rfc7677_vector),
          UNIT_TEST(test_scram_file_exchange), UNIT_TEST(test_scram_over_mosquitto_passwd),
          UNIT_TEST(test_scram_malformed), UNIT_TEST(test_cleanup))
