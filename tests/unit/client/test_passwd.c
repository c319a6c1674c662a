/* Password hashes: lines made by Debian's mosquitto_passwd 2.0 verify with tern_passwd_check,
 * lines made by tern_passwd_make have Mosquitto's exact shape (argon2id: Mosquitto 2.1's) and
 * verify, and the argon2 reference implementation's argon2id test vector verifies. */
#include <string.h>

#include "tern.h"
#include "unit.h"

/* Made with: mosquitto_passwd -c -b pw alice secret (and -H sha512 for bob, -I 1000 carol). */
static const char *const alice =
    "alice:$7$101$eB5egR0b7b5EGAV6$uwqDqNP95o9cEv5OnbV/+Gg3iP/2+5NiOBHc0s8tlt2FAjpZWX/"
    "gZxwZkDLmDLa2bsItI+VDQWwfPG8RJk2Ieg==\n";
static const char *const bob = "bob:$6$u3VHCxfWOTGrPKbH$siiH/sRoJWaLOaG4fW9C2WGgN9cftRQIgnn3PfGw"
                               "Gkc0fXU392zI1gI2kDtQ1bI0ImyFtY+Bt230EwIPWNzsIA==";
static const char *const carol =
    "carol:$7$1000$WSHIw+7Oht/1Fd9j$MoMEG2ccLFNElEsyY8S6My2d/9zNokSmbaZaOWgninR+oCdr7BOlVWJypCXB4"
    "aSrlZ3NYcIJNlVOBsbVYSRBNQ==";

static void test_mosquitto_lines_verify(void)
{
    CHECK_EQ_INT(tern_passwd_check(alice, "secret"), 0);
    CHECK_EQ_INT(tern_passwd_check(alice, "secreT"), TERN_ERROR_DENIED);
    CHECK_EQ_INT(tern_passwd_check(bob, "pw2"), 0);
    CHECK_EQ_INT(tern_passwd_check(bob, "pw"), TERN_ERROR_DENIED);
    CHECK_EQ_INT(tern_passwd_check(carol, "x"), 0);
    CHECK_EQ_INT(tern_passwd_check(carol, ""), TERN_ERROR_DENIED);
}

static void test_malformed_lines(void)
{
    CHECK_EQ_INT(tern_passwd_check("alice:plain", "plain"), TERN_ERROR_INVAL);
    CHECK_EQ_INT(tern_passwd_check("alice:$7$x$abc$def", "x"), TERN_ERROR_INVAL);
    CHECK_EQ_INT(tern_passwd_check("alice:$6$abcd", "x"), TERN_ERROR_INVAL);
    CHECK_EQ_INT(tern_passwd_check("nocolon", "x"), TERN_ERROR_INVAL);
}

static void test_make_has_mosquitto_shape(void)
{
    char line[256];
    REQUIRE(tern_passwd_make("dave", "pw", TERN_PASSWD_SHA512_PBKDF2, 0, line, sizeof line) == 0);
    CHECK(strncmp(line, "dave:$7$101$", 12) == 0);
    /* 12-byte salt = 16 base64 chars, 64-byte hash = 88. */
    CHECK_EQ_INT(strlen(line), strlen("dave:$7$101$") + 16 + 1 + 88);
    CHECK_EQ_INT(tern_passwd_check(line, "pw"), 0);
    CHECK_EQ_INT(tern_passwd_check(line, "pW"), TERN_ERROR_DENIED);
    REQUIRE(tern_passwd_make("eve", "pw", TERN_PASSWD_SHA512, 0, line, sizeof line) == 0);
    CHECK(strncmp(line, "eve:$6$", 7) == 0);
    CHECK_EQ_INT(tern_passwd_check(line, "pw"), 0);
    CHECK_EQ_INT(tern_passwd_make("a:b", "pw", TERN_PASSWD_SHA512, 0, line, sizeof line),
                 TERN_ERROR_INVAL);
    CHECK_EQ_INT(tern_passwd_make("a", "pw", TERN_PASSWD_SHA512, 0, line, 10), TERN_ERROR_TOOBIG);
}

/* The argon2id vector of the reference implementation's tests (t=2, m=65536, p=1,
 * "password" / "somesalt"): parameters other than Mosquitto's are read from the line. */
static const char *const argon2_ref = "ref:$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
                                      "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\n";

static void test_argon2id_reference_line(void)
{
    CHECK_EQ_INT(tern_passwd_check(argon2_ref, "password"), 0);
    CHECK_EQ_INT(tern_passwd_check(argon2_ref, "passwore"), TERN_ERROR_DENIED);
    CHECK_EQ_INT(tern_passwd_check("x:$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ", "password"),
                 TERN_ERROR_INVAL);
    CHECK_EQ_INT(tern_passwd_check("x:$argon2id$garbage", "password"), TERN_ERROR_INVAL);
}

static bool is_b64_unpadded(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
        if (!ok)
            return false;
    }
    return true;
}

static void test_argon2id_make_has_mosquitto21_shape(void)
{
    char line[512];
    REQUIRE(tern_passwd_make("fred", "pw", TERN_PASSWD_ARGON2ID, 0, line, sizeof line) == 0);
    static const char prefix[] = "fred:$argon2id$v=19$m=47104,t=1,p=1$";
    REQUIRE(strncmp(line, prefix, strlen(prefix)) == 0);
    /* 64-byte salt and hash: 86 unpadded base64 characters each. */
    const char *salt = line + strlen(prefix);
    const char *dollar = strchr(salt, '$');
    REQUIRE(dollar);
    CHECK_EQ_INT(dollar - salt, 86);
    CHECK_EQ_INT(strlen(dollar + 1), 86);
    CHECK(is_b64_unpadded(salt, 86) && is_b64_unpadded(dollar + 1, 86));
    CHECK_EQ_INT(tern_passwd_check(line, "pw"), 0);
    CHECK_EQ_INT(tern_passwd_check(line, "pW"), TERN_ERROR_DENIED);
    /* Two hashes of the same password differ (fresh salt). */
    char again[512];
    REQUIRE(tern_passwd_make("fred", "pw", TERN_PASSWD_ARGON2ID, 0, again, sizeof again) == 0);
    CHECK(strcmp(line, again) != 0);
    CHECK_EQ_INT(tern_passwd_make("fred", "pw", TERN_PASSWD_ARGON2ID, 0, line, 100),
                 TERN_ERROR_TOOBIG);
}

UNIT_MAIN(UNIT_TEST(test_mosquitto_lines_verify), UNIT_TEST(test_malformed_lines),
          UNIT_TEST(test_make_has_mosquitto_shape), UNIT_TEST(test_argon2id_reference_line),
          UNIT_TEST(test_argon2id_make_has_mosquitto21_shape))
