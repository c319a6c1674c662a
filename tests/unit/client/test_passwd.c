/* Password hashes: lines made by Debian's mosquitto_passwd 2.0 verify with tern_passwd_check,
 * and lines made by tern_passwd_make have Mosquitto's exact shape and verify. */
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

UNIT_MAIN(UNIT_TEST(test_mosquitto_lines_verify), UNIT_TEST(test_malformed_lines),
          UNIT_TEST(test_make_has_mosquitto_shape))
