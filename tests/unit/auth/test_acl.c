/* Unit tests for the ACL file: an access matrix for users, anonymous clients, patterns with %c
 * and %u, deny rules, '$' topics, SUBSCRIBE filters (overlap and deny cover), and load errors
 * with file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "err.h"
#include "unit.h"

static char path[64];

static struct acl *load_text(const char *text, int expect_rc, char *err, size_t errlen)
{
    snprintf(path, sizeof path, "/tmp/tern-acl-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    struct acl *acl = NULL;
    int rc = acl_load(path, &acl, err, errlen);
    unlink(path);
    if (rc != expect_rc)
        fprintf(stderr, "acl_load: %d (%s)\n", rc, err);
    return rc == 0 ? acl : NULL;
}

static const char acl_text[] = "# anonymous clients\n"
                               "topic read public/#\n"
                               "topic deny public/secret/#\n"
                               "\n"
                               "user alice\n"
                               "topic readwrite home/#\n"
                               "topic deny home/locked\n"
                               "topic write logs/alice\n"
                               "topic $SYS/broker/#\n"
                               "topic read with space/a b\n"
                               "\n"
                               "user bob\n"
                               "topic read home/+/temp\n"
                               "pattern readwrite clients/%c/#\n"
                               "pattern write users/%u/out\n"
                               "pattern deny users/%u/out/blocked\n"
                               "  user   carol\n"
                               "topic deny #\n";

static bool ok(const struct acl *a, const char *user, const char *topic, enum acl_access acc)
{
    return acl_check(a, "cid-1", user, topic, acc);
}

static void test_acl_user_and_anonymous(void)
{
    char err[256];
    struct acl *a = load_text(acl_text, 0, err, sizeof err);
    REQUIRE(a != NULL);
    CHECK_EQ_INT(acl_user_count(a), 3);
    CHECK_EQ_INT(acl_pattern_count(a), 3);
    /* Anonymous: read public, not write, deny wins. */
    CHECK(ok(a, NULL, "public/news", ACL_READ));
    CHECK(!ok(a, NULL, "public/news", ACL_WRITE));
    CHECK(!ok(a, NULL, "public/secret/x", ACL_READ));
    CHECK(!ok(a, NULL, "home/kitchen", ACL_READ));
    /* alice: her rules, not the anonymous ones. */
    CHECK(ok(a, "alice", "home/kitchen", ACL_READ));
    CHECK(ok(a, "alice", "home/kitchen", ACL_WRITE));
    CHECK(!ok(a, "alice", "home/locked", ACL_READ));
    CHECK(!ok(a, "alice", "home/locked", ACL_WRITE));
    CHECK(ok(a, "alice", "logs/alice", ACL_WRITE));
    CHECK(!ok(a, "alice", "logs/alice", ACL_READ));
    CHECK(!ok(a, "alice", "public/news", ACL_READ));
    CHECK(ok(a, "alice", "with space/a b", ACL_READ));
    CHECK(ok(a, "alice", "$SYS/broker/uptime", ACL_READ));
    /* bob: single-level wildcard. */
    CHECK(ok(a, "bob", "home/kitchen/temp", ACL_READ));
    CHECK(!ok(a, "bob", "home/kitchen/temp", ACL_WRITE));
    CHECK(!ok(a, "bob", "home/kitchen/hum", ACL_READ));
    /* A user not in the file: patterns only. */
    CHECK(!ok(a, "zed", "home/kitchen", ACL_READ));
    CHECK(ok(a, "zed", "clients/cid-1/x", ACL_WRITE));
    /* carol: deny # refuses her own rules; patterns are still consulted after no grant. */
    CHECK(!ok(a, "carol", "anything", ACL_READ));
    /* Invalid topics are refused. */
    CHECK(!ok(a, "alice", "home/+", ACL_WRITE));
    CHECK(!ok(a, "alice", "", ACL_READ));
    acl_free(a);
}

static void test_acl_patterns(void)
{
    char err[256];
    struct acl *a = load_text(acl_text, 0, err, sizeof err);
    REQUIRE(a != NULL);
    CHECK(acl_check(a, "dev7", "bob", "clients/dev7/state", ACL_WRITE));
    CHECK(acl_check(a, "dev7", "bob", "clients/dev7/state", ACL_READ));
    CHECK(!acl_check(a, "dev7", "bob", "clients/dev8/state", ACL_WRITE));
    CHECK(acl_check(a, "dev7", "bob", "users/bob/out", ACL_WRITE));
    CHECK(!acl_check(a, "dev7", "bob", "users/bob/out", ACL_READ));
    CHECK(!acl_check(a, "dev7", "bob", "users/alice/out", ACL_WRITE));
    /* %u needs a username: anonymous clients do not get users/%u rules. */
    CHECK(!acl_check(a, "dev7", NULL, "users//out", ACL_WRITE));
    CHECK(acl_check(a, "dev7", NULL, "clients/dev7/x", ACL_WRITE));
    /* %c needs a client id. */
    CHECK(!acl_check(a, NULL, "bob", "clients//x", ACL_WRITE));
    /* Wildcards in an identity void the patterns. */
    CHECK(!acl_check(a, "+", "bob", "clients/+/x", ACL_WRITE));
    CHECK(!acl_check(a, "dev#", "bob", "clients/dev#/x", ACL_WRITE));
    CHECK(!acl_check(a, "dev7", "b+b", "users/b+b/out", ACL_WRITE));
    acl_free(a);
}

static void test_acl_dollar_topics(void)
{
    char err[256];
    struct acl *a = load_text("topic read #\ntopic read +/x\n", 0, err, sizeof err);
    REQUIRE(a != NULL);
    CHECK(ok(a, NULL, "a/b", ACL_READ));
    CHECK(!ok(a, NULL, "$SYS/x", ACL_READ)); /* '#' does not grant '$' topics */
    CHECK(!ok(a, NULL, "$SYS/x", ACL_SUBSCRIBE));
    CHECK(ok(a, NULL, "#", ACL_SUBSCRIBE));
    acl_free(a);
}

static void test_acl_subscribe(void)
{
    char err[256];
    struct acl *a = load_text(acl_text, 0, err, sizeof err);
    REQUIRE(a != NULL);
    /* Allowed when some read rule overlaps the filter. */
    CHECK(ok(a, NULL, "public/#", ACL_SUBSCRIBE));
    CHECK(ok(a, NULL, "public/news", ACL_SUBSCRIBE));
    CHECK(ok(a, NULL, "#", ACL_SUBSCRIBE)); /* overlaps public/# */
    CHECK(ok(a, NULL, "+/news", ACL_SUBSCRIBE));
    CHECK(ok(a, NULL, "public", ACL_SUBSCRIBE)); /* public/# matches "public" */
    CHECK(!ok(a, NULL, "home/#", ACL_SUBSCRIBE));
    /* Refused when a deny covers the whole filter. */
    CHECK(!ok(a, NULL, "public/secret/#", ACL_SUBSCRIBE));
    CHECK(!ok(a, NULL, "public/secret/+", ACL_SUBSCRIBE));
    CHECK(!ok(a, NULL, "public/secret", ACL_SUBSCRIBE)); /* public/secret/# covers it */
    /* Write-only rules do not allow subscribing. */
    CHECK(!ok(a, "alice", "logs/alice", ACL_SUBSCRIBE));
    CHECK(ok(a, "alice", "home/+", ACL_SUBSCRIBE));
    CHECK(!ok(a, "alice", "home/locked", ACL_SUBSCRIBE));
    CHECK(ok(a, "bob", "home/#", ACL_SUBSCRIBE)); /* overlaps home/+/temp */
    CHECK(!ok(a, "bob", "home/+", ACL_SUBSCRIBE));
    CHECK(ok(a, "bob", "$share/g/home/+/temp", ACL_SUBSCRIBE));
    CHECK(!ok(a, "bob", "$share/g/office/#", ACL_SUBSCRIBE));
    CHECK(!ok(a, "bob", "home/+/+/", ACL_SUBSCRIBE));
    CHECK(!ok(a, "bob", "home/#/x", ACL_SUBSCRIBE)); /* invalid filter */
    /* Patterns take part, and a pattern deny covers. */
    CHECK(acl_check(a, "c9", "bob", "clients/c9/#", ACL_SUBSCRIBE));
    CHECK(!acl_check(a, "c9", "bob", "clients/c8/#", ACL_SUBSCRIBE));
    CHECK(!acl_check(a, "c9", "carol", "#", ACL_SUBSCRIBE));
    acl_free(a);
}

static void test_acl_errors(void)
{
    char err[256];
    CHECK(load_text("topic read a\nuser\n", TERN_ECONFIG, err, sizeof err) == NULL);
    CHECK(strstr(err, ":2: missing user name") != NULL);
    CHECK(load_text("#x\ntopik a\n", TERN_ECONFIG, err, sizeof err) == NULL);
    CHECK(strstr(err, ":2: unknown keyword") != NULL);
    CHECK(load_text("topic write a/#/b\n", TERN_ECONFIG, err, sizeof err) == NULL);
    CHECK(strstr(err, ":1: invalid topic filter") != NULL);
    CHECK(load_text("topic   \n", TERN_ECONFIG, err, sizeof err) == NULL);
    CHECK(strstr(err, ":1: missing topic filter") != NULL);
    struct acl *a = NULL;
    CHECK_EQ_INT(acl_load("/nonexistent/acl", &a, err, sizeof err), TERN_EIO);
    CHECK(strstr(err, "/nonexistent/acl") != NULL);
    /* An access word with its filter missing is an error, never a grant on a topic named
     * after the word ("topic deny" must not allow "deny"; found by fuzz_acl). */
    CHECK(load_text("topic read\n", TERN_ECONFIG, err, sizeof err) == NULL);
    CHECK(strstr(err, ":1: missing topic filter") != NULL);
    CHECK(load_text("user u\ntopic deny\n", TERN_ECONFIG, err, sizeof err) == NULL);
    CHECK(strstr(err, ":2: missing topic filter") != NULL);
    /* An empty file allows nothing. */
    a = load_text("# nothing\n", 0, err, sizeof err);
    REQUIRE(a != NULL);
    CHECK(!ok(a, NULL, "a", ACL_READ));
    CHECK(!ok(a, "u", "a", ACL_SUBSCRIBE));
    acl_free(a);
}

UNIT_MAIN(UNIT_TEST(test_acl_user_and_anonymous), UNIT_TEST(test_acl_patterns),
          UNIT_TEST(test_acl_dollar_topics), UNIT_TEST(test_acl_subscribe),
          UNIT_TEST(test_acl_errors))
