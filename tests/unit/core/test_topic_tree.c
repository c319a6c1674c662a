/* Unit tests for src/core/topic_tree: matching per MQTT 4.7, the '$' rule, overlapping filters,
 * replace vs add, removal with pruning (memory returns to its start), shared groups, allocation
 * failures, and 4 matching threads against 1 writing thread. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "mqtt.h"
#include "topic_tree.h"
#include "unit.h"

#define MAX_HITS 64

struct hit {
    void *subscriber;
    uint8_t options;
    uint32_t sub_id;
    bool shared;
};

struct hits {
    size_t n;
    struct hit h[MAX_HITS];
};

static void collect(void *subscriber, uint8_t options, uint32_t sub_id, bool shared, void *ctx)
{
    struct hits *hs = ctx;
    if (hs->n < MAX_HITS)
        hs->h[hs->n] = (struct hit){subscriber, options, sub_id, shared};
    hs->n++;
}

static struct hits match(struct topic_tree *t, const char *topic)
{
    struct hits hs = {0};
    topic_tree_match(t, bytes_str(topic), collect, &hs);
    return hs;
}

static size_t hits_of(const struct hits *hs, const void *subscriber)
{
    size_t n = 0;
    for (size_t i = 0; i < hs->n && i < MAX_HITS; i++)
        n += hs->h[i].subscriber == subscriber;
    return n;
}

static int add(struct topic_tree *t, const char *filter, void *s, uint8_t opts, uint32_t id)
{
    return topic_tree_add(t, bytes_str(filter), s, opts, id);
}

static int del(struct topic_tree *t, const char *filter, void *s)
{
    return topic_tree_remove(t, bytes_str(filter), s);
}

struct match_case {
    const char *filter;
    const char *topic;
    bool matches;
};

/* The examples of MQTT 5.0 section 4.7 (and 3.1.1 4.7), plus edge cases of empty levels. */
static const struct match_case cases[] = {
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/tennis/player1/#", "sport/tennis/player2", false},
    {"sport/#", "sport", true},
    {"#", "sport/tennis", true},
    {"#", "/", true},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player2", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},
    {"+", "sport", true},
    {"+/tennis/#", "sport/tennis/x", true},
    {"+/tennis/#", "sport/tennis", true},
    {"sport/+/player1", "sport/tennis/player1", true},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+", "/finance", false},
    {"+/#", "a", true},
    {"a/b", "a/b", true},
    {"a/b", "a/b/", false},
    {"a/b", "a", false},
    {"a//b", "a//b", true},
    {"a/+/b", "a//b", true},
    {"A/b", "a/b", false},
    /* [MQTT-4.7.2-1]: wildcards at the first level never match '$' topics. */
    {"#", "$SYS/monitor/Clients", false},
    {"#", "$SYS", false},
    {"+/monitor/Clients", "$SYS/monitor/Clients", false},
    {"+", "$SYS", false},
    {"+/#", "$SYS/x", false},
    {"$SYS/#", "$SYS/monitor/Clients", true},
    {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
    {"$SYS/#", "$SYS", true},
    {"a/#", "a/$x", true},
    {"a/+", "a/$x", true},
};

static void test_match_spec_examples(void)
{
    int marker;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct topic_tree *t = topic_tree_new();
        REQUIRE(t != NULL);
        CHECK_EQ_INT(add(t, cases[i].filter, &marker, 1, 0), 1);
        struct hits hs = match(t, cases[i].topic);
        if (hs.n != (cases[i].matches ? 1u : 0u))
            fprintf(stderr, "filter '%s' topic '%s': %zu hits\n", cases[i].filter, cases[i].topic,
                    hs.n);
        CHECK_EQ_INT(hs.n, cases[i].matches ? 1 : 0);
        topic_tree_free(t);
    }
}

/* All filters in one tree: each topic must report exactly the filters that match it. */
static void test_match_all_in_one_tree(void)
{
    enum { N = sizeof cases / sizeof cases[0] };
    char subs[N];
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    for (size_t i = 0; i < N; i++)
        CHECK_EQ_INT(add(t, cases[i].filter, &subs[i], 0, (uint32_t)i + 1), 1);
    for (size_t i = 0; i < N; i++) {
        struct hits hs = match(t, cases[i].topic);
        for (size_t j = 0; j < N; j++) {
            if (strcmp(cases[j].topic, cases[i].topic) != 0 ||
                strcmp(cases[j].filter, cases[i].filter) == 0)
                continue;
            CHECK_EQ_INT(hits_of(&hs, &subs[j]), cases[j].matches ? 1 : 0);
        }
        CHECK_EQ_INT(hits_of(&hs, &subs[i]), cases[i].matches ? 1 : 0);
    }
    topic_tree_free(t);
}

static void test_overlapping_filters_reported_once_each(void)
{
    int a, b;
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    CHECK_EQ_INT(add(t, "a/b", &a, 0, 1), 1);
    CHECK_EQ_INT(add(t, "a/+", &a, 1, 2), 1);
    CHECK_EQ_INT(add(t, "#", &a, 2, 3), 1);
    CHECK_EQ_INT(add(t, "a/#", &a, 0, 4), 1);
    CHECK_EQ_INT(add(t, "a/b", &b, 2, 0), 1);
    CHECK_EQ_INT(topic_tree_count(t), 5);
    struct hits hs = match(t, "a/b");
    REQUIRE(hs.n == 5);
    CHECK_EQ_INT(hits_of(&hs, &a), 4);
    CHECK_EQ_INT(hits_of(&hs, &b), 1);
    uint32_t seen = 0;
    for (size_t i = 0; i < hs.n; i++) {
        CHECK(!hs.h[i].shared);
        if (hs.h[i].subscriber == &a)
            seen |= 1u << hs.h[i].sub_id;
        if (hs.h[i].sub_id == 2)
            CHECK_EQ_INT(hs.h[i].options, 1);
        if (hs.h[i].sub_id == 3)
            CHECK_EQ_INT(hs.h[i].options, 2);
    }
    CHECK_EQ_INT(seen, 0x1e);
    hs = match(t, "a/c");
    CHECK_EQ_INT(hs.n, 3);
    hs = match(t, "b");
    CHECK_EQ_INT(hs.n, 1);
    topic_tree_free(t);
}

static void test_replace_vs_add(void)
{
    int a;
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    CHECK_EQ_INT(add(t, "x/+/z", &a, MQTT_SUBOPT_NO_LOCAL | 1, 7), 1);
    CHECK_EQ_INT(add(t, "x/+/z", &a, 2, 0), 0);
    CHECK_EQ_INT(topic_tree_count(t), 1);
    struct hits hs = match(t, "x/y/z");
    REQUIRE(hs.n == 1);
    CHECK_EQ_INT(hs.h[0].options, 2);
    CHECK_EQ_INT(hs.h[0].sub_id, 0);
    CHECK_EQ_INT(add(t, "x/+/z", &a, 1, 268435455), 0);
    hs = match(t, "x/y/z");
    REQUIRE(hs.n == 1);
    CHECK_EQ_INT(hs.h[0].options, 1);
    CHECK_EQ_INT(hs.h[0].sub_id, 268435455);
    CHECK_EQ_INT(add(t, "$share/g/x/+/z", &a, 0, 0), 1);
    CHECK_EQ_INT(add(t, "$share/g/x/+/z", &a, 1, 9), 0);
    CHECK_EQ_INT(topic_tree_count(t), 2);
    hs = match(t, "x/q/z");
    REQUIRE(hs.n == 2);
    for (size_t i = 0; i < 2; i++)
        if (hs.h[i].shared)
            CHECK_EQ_INT(hs.h[i].sub_id, 9);
    topic_tree_free(t);
}

static const char *const prune_filters[] = {
    "a",           "a/b/c",     "a/+/c",         "+/+/+", "#",    "a/#",      "/",
    "//",          "$SYS/#",    "$share/g1/a/b", "x/y/z", "x/y",  "x/#",      "$share/g2/#",
    "a/b/c/d/e/f", "sport/+/#", "$share/g1/a/+", "+",     "a//b", "$SYS/a/+", "s/t/u/v",
};

static void test_remove_prunes_and_frees(void)
{
    enum { NF = sizeof prune_filters / sizeof prune_filters[0], NS = 3 };
    char subs[NS];
    char name[32];
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    size_t start = mem_in_use();
    for (int k = 0; k < NS; k++)
        for (size_t i = 0; i < NF; i++)
            CHECK_EQ_INT(add(t, prune_filters[i], &subs[k], 1, 0), 1);
    /* Many siblings so that child tables and the index grow and shrink. */
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "wide/%d/x", i);
        CHECK_EQ_INT(add(t, name, &subs[i % NS], 0, 0), 1);
    }
    CHECK_EQ_INT(topic_tree_count(t), NS * NF + 300);
    CHECK(mem_in_use() > start);
    CHECK_EQ_INT(del(t, "a/b/c/d", &subs[0]), TERN_ENOTFOUND);
    CHECK_EQ_INT(del(t, "$share/g3/a/b", &subs[0]), TERN_ENOTFOUND);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "wide/%d/x", i);
        CHECK_EQ_INT(del(t, name, &subs[i % NS]), 0);
    }
    for (int k = 0; k < NS; k++) {
        for (size_t i = 0; i < NF; i++) {
            CHECK_EQ_INT(del(t, prune_filters[i], &subs[k]), 0);
            CHECK_EQ_INT(del(t, prune_filters[i], &subs[k]), TERN_ENOTFOUND);
        }
    }
    CHECK_EQ_INT(topic_tree_count(t), 0);
    CHECK_EQ_INT(match(t, "a/b/c").n, 0);
    topic_tree_reclaim(t);
    /* Only the index table may stay (it is sized for the peak and reused). */
    size_t left = mem_in_use() - start;
    CHECK(left <= 16 + 1024 * sizeof(void *));
    topic_tree_free(t);
}

static void test_add_remove_cycles_return_memory(void)
{
    int a;
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    CHECK_EQ_INT(add(t, "warm/up", &a, 0, 0), 1);
    CHECK_EQ_INT(del(t, "warm/up", &a), 0);
    topic_tree_reclaim(t);
    size_t start = mem_in_use();
    for (int i = 0; i < 200; i++) {
        CHECK_EQ_INT(add(t, "p/q/r", &a, 0, 0), 1);
        CHECK_EQ_INT(add(t, "$share/g/p/+/r", &a, 0, 0), 1);
        CHECK_EQ_INT(del(t, "p/q/r", &a), 0);
        CHECK_EQ_INT(del(t, "$share/g/p/+/r", &a), 0);
    }
    topic_tree_reclaim(t);
    CHECK_EQ_INT(mem_in_use(), start);
    CHECK_EQ_INT(topic_tree_count(t), 0);
    topic_tree_free(t);
}

static void test_shared_round_robin(void)
{
    int m[3], plain, solo;
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(add(t, "$share/grp/t/+", &m[i], 1, 0), 1);
    CHECK_EQ_INT(add(t, "t/+", &plain, 0, 0), 1);
    CHECK_EQ_INT(add(t, "$share/other/t/+", &solo, 2, 5), 1);
    CHECK_EQ_INT(topic_tree_count(t), 5);
    size_t got[3] = {0};
    size_t plain_n = 0, solo_n = 0;
    for (int k = 0; k < 6; k++) {
        struct hits hs = match(t, "t/x");
        CHECK_EQ_INT(hs.n, 3);
        for (size_t i = 0; i < hs.n; i++) {
            for (int j = 0; j < 3; j++) {
                if (hs.h[i].subscriber == &m[j]) {
                    CHECK(hs.h[i].shared);
                    got[j]++;
                }
            }
            if (hs.h[i].subscriber == &plain) {
                CHECK(!hs.h[i].shared);
                plain_n++;
            }
            if (hs.h[i].subscriber == &solo) {
                CHECK(hs.h[i].shared);
                CHECK_EQ_INT(hs.h[i].sub_id, 5);
                solo_n++;
            }
        }
    }
    for (int j = 0; j < 3; j++)
        CHECK_EQ_INT(got[j], 2);
    CHECK_EQ_INT(plain_n, 6);
    CHECK_EQ_INT(solo_n, 6);
    /* The same group name on another filter is another group. */
    CHECK_EQ_INT(add(t, "$share/grp/u", &m[0], 0, 0), 1);
    CHECK_EQ_INT(match(t, "u").n, 1);
    CHECK_EQ_INT(del(t, "$share/grp/t/+", &m[1]), 0);
    size_t got2[3] = {0};
    for (int k = 0; k < 4; k++) {
        struct hits hs = match(t, "t/y");
        for (size_t i = 0; i < hs.n; i++)
            for (int j = 0; j < 3; j++)
                got2[j] += hs.h[i].subscriber == &m[j];
    }
    CHECK_EQ_INT(got2[0], 2);
    CHECK_EQ_INT(got2[1], 0);
    CHECK_EQ_INT(got2[2], 2);
    topic_tree_free(t);
}

static void test_shared_pick_except(void)
{
    int m[3];
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    struct tern_bytes g = bytes_str("g"), f = bytes_str("a/#");
    CHECK(topic_tree_shared_pick(t, g, f, NULL) == NULL);
    CHECK_EQ_INT(add(t, "$share/g/a/#", &m[0], 0, 0), 1);
    CHECK(topic_tree_shared_pick(t, g, f, &m[0]) == NULL);
    CHECK(topic_tree_shared_pick(t, g, f, NULL) == &m[0]);
    CHECK_EQ_INT(add(t, "$share/g/a/#", &m[1], 0, 0), 1);
    CHECK_EQ_INT(add(t, "$share/g/a/#", &m[2], 0, 0), 1);
    size_t got[3] = {0};
    for (int k = 0; k < 8; k++) {
        void *p = topic_tree_shared_pick(t, g, f, &m[0]);
        CHECK(p == &m[1] || p == &m[2]);
        for (int j = 0; j < 3; j++)
            got[j] += p == &m[j];
    }
    CHECK_EQ_INT(got[0], 0);
    CHECK(got[1] >= 3 && got[2] >= 3);
    CHECK(topic_tree_shared_pick(t, bytes_str("h"), f, NULL) == NULL);
    CHECK(topic_tree_shared_pick(t, g, bytes_str("a/+"), NULL) == NULL);
    CHECK(topic_tree_shared_pick(t, g, bytes_str("a"), NULL) == NULL);
    topic_tree_free(t);
}

/* Every allocation of an add is failed in turn: the add reports TERN_ENOMEM and leaves the
 * tree (count, memory, matches) as it was. */
static void test_add_out_of_memory(void)
{
    int a, b;
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    CHECK_EQ_INT(add(t, "base/x", &b, 0, 0), 1);
    topic_tree_reclaim(t);
    const char *filters[] = {"deep/er/than/that/#", "$share/g/deep/+/x", "base/x"};
    for (size_t f = 0; f < 3; f++) {
        int rc = TERN_ENOMEM;
        for (uint64_t n = 1; rc == TERN_ENOMEM && n < 100; n++) {
            size_t before = mem_in_use();
            size_t count = topic_tree_count(t);
            mem_fail_at(n);
            rc = add(t, filters[f], &a, 0, 0);
            mem_fail_at(0);
            if (rc == TERN_ENOMEM) {
                topic_tree_reclaim(t);
                CHECK_EQ_INT(mem_in_use(), before);
                CHECK_EQ_INT(topic_tree_count(t), count);
            }
        }
        CHECK_EQ_INT(rc, 1);
    }
    CHECK_EQ_INT(topic_tree_count(t), 4);
    CHECK_EQ_INT(match(t, "deep/er/than/that").n, 1);
    CHECK_EQ_INT(match(t, "deep/q/x").n, 1);
    CHECK_EQ_INT(match(t, "base/x").n, 2);
    topic_tree_free(t);
}

/* ---- Concurrency: 4 matching threads, 1 writing thread ---- */

#define READERS 4
#define CHURN   16

struct mt {
    struct topic_tree *t;
    _Atomic bool done;
    int stable[2];
    int churn[CHURN];
    _Atomic unsigned long bad;
    _Atomic unsigned long matches;
};

struct mt_count {
    const struct mt *mt;
    unsigned stable_hits;
    unsigned other_hits;
    unsigned foreign;
};

static void mt_collect(void *subscriber, uint8_t options, uint32_t sub_id, bool shared, void *ctx)
{
    struct mt_count *c = ctx;
    (void)options;
    (void)sub_id;
    (void)shared;
    if (subscriber == &c->mt->stable[0] || subscriber == &c->mt->stable[1]) {
        c->stable_hits++;
        return;
    }
    const int *p = subscriber;
    if (p >= c->mt->churn && p < c->mt->churn + CHURN)
        c->other_hits++;
    else
        c->foreign++;
}

static void *mt_reader(void *arg)
{
    struct mt *mt = arg;
    unsigned long n = 0;
    /* Keep matching until the writer is done, and at least a few rounds. */
    while (!atomic_load(&mt->done) || n < 100) {
        struct mt_count c = {mt, 0, 0, 0};
        topic_tree_match(mt->t, bytes_str("s/a/x"), mt_collect, &c);
        /* Both stable subscriptions are always there; churn ones at most twice each (plain +
         * the shared group's single pick). */
        if (c.stable_hits != 2 || c.foreign || c.other_hits > CHURN + 1)
            atomic_fetch_add(&mt->bad, 1);
        n++;
    }
    atomic_fetch_add(&mt->matches, n);
    return NULL;
}

static void mt_write_round(struct mt *mt, int round, unsigned long *errors)
{
    char f[32];
    for (int i = 0; i < CHURN; i++) {
        snprintf(f, sizeof f, "s/%s/x", i % 2 ? "+" : "a");
        if (add(mt->t, f, &mt->churn[i], 0, (uint32_t)round) != 1)
            (*errors)++;
        if (add(mt->t, "$share/g/s/#", &mt->churn[i], 0, 0) != 1)
            (*errors)++;
        snprintf(f, sizeof f, "s/%d/y/%d", i, round % 7);
        if (add(mt->t, f, &mt->churn[i], 0, 0) != 1)
            (*errors)++;
    }
    for (int i = 0; i < CHURN; i++) {
        snprintf(f, sizeof f, "s/%s/x", i % 2 ? "+" : "a");
        if (del(mt->t, f, &mt->churn[i]) != 0)
            (*errors)++;
        if (del(mt->t, "$share/g/s/#", &mt->churn[i]) != 0)
            (*errors)++;
        snprintf(f, sizeof f, "s/%d/y/%d", i, round % 7);
        if (del(mt->t, f, &mt->churn[i]) != 0)
            (*errors)++;
    }
}

static void test_concurrent_match_with_writer(void)
{
    static struct mt mt;
    memset(&mt, 0, sizeof mt);
    mt.t = topic_tree_new();
    REQUIRE(mt.t != NULL);
    size_t start = mem_in_use();
    CHECK_EQ_INT(add(mt.t, "s/a/x", &mt.stable[0], 0, 0), 1);
    CHECK_EQ_INT(add(mt.t, "s/#", &mt.stable[1], 0, 0), 1);
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        REQUIRE(pthread_create(&th[i], NULL, mt_reader, &mt) == 0);
    unsigned long errors = 0;
    for (int round = 0; round < 300; round++)
        mt_write_round(&mt, round, &errors);
    atomic_store(&mt.done, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(atomic_load(&mt.bad), 0);
    CHECK(atomic_load(&mt.matches) >= READERS * 100);
    CHECK_EQ_INT(topic_tree_count(mt.t), 2);
    CHECK_EQ_INT(del(mt.t, "s/a/x", &mt.stable[0]), 0);
    CHECK_EQ_INT(del(mt.t, "s/#", &mt.stable[1]), 0);
    CHECK_EQ_INT(topic_tree_count(mt.t), 0);
    topic_tree_reclaim(mt.t);
    CHECK(mem_in_use() - start <= 16 + 1024 * sizeof(void *));
    topic_tree_free(mt.t);
}

/* topic_tree_walk: every subscription once with its filter (rebuilt from the levels, wildcards
 * and empty levels included), options, identifier and shared group; removed ones are gone. */
struct walked {
    size_t n;
    char rows[16][96];
};

static void walk_row(void *subscriber, struct tern_bytes filter, struct tern_bytes group,
                     uint8_t options, uint32_t sub_id, void *ctx)
{
    struct walked *w = ctx;
    if (w->n < 16)
        snprintf(w->rows[w->n], sizeof w->rows[0], "%d %.*s|%.*s %u %u", *(int *)subscriber,
                 (int)filter.len, (const char *)filter.ptr, (int)group.len, (const char *)group.ptr,
                 options, sub_id);
    w->n++;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_walk(void)
{
    int s1 = 1, s2 = 2, s3 = 3;
    struct topic_tree *t = topic_tree_new();
    REQUIRE(t != NULL);
    CHECK_EQ_INT(add(t, "a/b", &s1, 1, 0), 1);
    CHECK_EQ_INT(add(t, "a/+/c", &s1, 2, 9), 1);
    CHECK_EQ_INT(add(t, "#", &s2, 0, 0), 1);
    CHECK_EQ_INT(add(t, "/x//#", &s2, 0x24, 0), 1);
    CHECK_EQ_INT(add(t, "$share/g/a/b", &s3, 1, 4), 1);
    CHECK_EQ_INT(add(t, "$share/g/a/b", &s2, 0, 0), 1);
    CHECK_EQ_INT(add(t, "$SYS/#", &s3, 0, 0), 1);
    struct walked w = {0};
    CHECK_EQ_INT(topic_tree_walk(t, walk_row, &w), 0);
    REQUIRE(w.n == 7);
    qsort(w.rows, w.n, sizeof w.rows[0], by_text);
    const char *want[] = {"1 a/+/c| 2 9", "1 a/b| 1 0",    "2 #| 0 0",   "2 /x//#| 36 0",
                          "2 a/b|g 0 0",  "3 $SYS/#| 0 0", "3 a/b|g 1 4"};
    for (size_t i = 0; i < 7; i++)
        CHECK(strcmp(w.rows[i], want[i]) == 0);
    CHECK_EQ_INT(del(t, "a/+/c", &s1), 0);
    CHECK_EQ_INT(del(t, "$share/g/a/b", &s3), 0);
    memset(&w, 0, sizeof w);
    CHECK_EQ_INT(topic_tree_walk(t, walk_row, &w), 0);
    CHECK_EQ_INT(w.n, 5);
    topic_tree_free(t);
    /* The walk's one allocation failing is reported, not a crash. */
    struct topic_tree *e = topic_tree_new();
    REQUIRE(e != NULL);
    mem_fail_at(1);
    CHECK_EQ_INT(topic_tree_walk(e, walk_row, &w), TERN_ENOMEM);
    mem_fail_at(0);
    topic_tree_free(e);
}

UNIT_MAIN(UNIT_TEST(test_walk), UNIT_TEST(test_match_spec_examples),
          UNIT_TEST(test_match_all_in_one_tree),
          UNIT_TEST(test_overlapping_filters_reported_once_each), UNIT_TEST(test_replace_vs_add),
          UNIT_TEST(test_remove_prunes_and_frees), UNIT_TEST(test_add_remove_cycles_return_memory),
          UNIT_TEST(test_shared_round_robin), UNIT_TEST(test_shared_pick_except),
          UNIT_TEST(test_add_out_of_memory), UNIT_TEST(test_concurrent_match_with_writer))
