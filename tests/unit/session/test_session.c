/* Unit tests for src/session/session: references and freeing (memory back to its start),
 * subscriptions, packet ids, the in-flight window's send order, the queue ring (FIFO across
 * growth and wrap-around, caps, byte accounting), inbound QoS 2 ids, the will, delivery_clear,
 * and every allocating operation failed at each allocation in turn. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "msg.h"
#include "session.h"
#include "unit.h"

static const char payload_bytes[256];

/* A message tagged with `tag` (as origin_id) and a payload of payload_len (<= 256) bytes. */
static struct msg *mk_msg(uint64_t tag, size_t payload_len)
{
    struct msg_init in = {
        bytes_str("t/x"), bytes_of(payload_bytes, payload_len), NULL, 1, false, tag, 0};
    return msg_new(&in);
}

/* A delivery holding the only reference to a new tagged message. */
static struct delivery mk_del(uint64_t tag)
{
    struct delivery d;
    memset(&d, 0, sizeof d);
    d.m = mk_msg(tag, 4);
    d.qos = 1;
    return d;
}

static uint32_t refs_of(struct msg *m)
{
    return atomic_load(&m->refs);
}

static struct session *mk_session(void)
{
    return session_new("client-1", 8, 42);
}

static void test_new_ref_unref(void)
{
    size_t start = mem_in_use();
    struct session *s = session_new("abcdef", 3, 7);
    REQUIRE(s);
    CHECK(strcmp(s->client_id, "abc") == 0);
    CHECK_EQ_INT(s->id, 7);
    CHECK_EQ_INT(atomic_load(&s->refs), 1);
    CHECK(s->will == NULL);
    CHECK_EQ_INT(s->n_subs + s->n_inflight + s->q_len + s->n_qos2_in, 0);
    CHECK(session_ref(s) == s);
    CHECK_EQ_INT(atomic_load(&s->refs), 2);
    session_unref(s);
    CHECK_EQ_INT(atomic_load(&s->refs), 1);
    CHECK(strcmp(s->client_id, "abc") == 0);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
    session_unref(NULL);
}

/* A session holding something of every kind is freed whole by its last unref. */
static void test_unref_frees_everything(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    char f[32];
    for (int i = 0; i < 6; i++) {
        snprintf(f, sizeof f, "a/%d", i);
        CHECK_EQ_INT(session_sub_set(s, f, strlen(f), 1, (uint32_t)i), 1);
    }
    for (uint16_t i = 1; i <= 6; i++) {
        struct delivery d = mk_del(i);
        REQUIRE(d.m);
        if (i == 3) {
            d.n_sub_ids = 3;
            d.sub_ids = mem_alloc(3 * sizeof *d.sub_ids);
            REQUIRE(d.sub_ids);
        }
        CHECK_EQ_INT(session_inflight_add(s, i, INFLIGHT_WAIT_PUBACK, &d), 0);
    }
    for (uint64_t i = 0; i < 12; i++) {
        struct delivery d = mk_del(i);
        REQUIRE(d.m);
        CHECK_EQ_INT(session_queue_push(s, &d, 0, 0), 0);
    }
    for (uint16_t i = 1; i <= 6; i++)
        CHECK_EQ_INT(session_qos2_add(s, i), 0);
    struct msg *will = mk_msg(99, 10);
    REQUIRE(will);
    session_set_will(s, will, 30);
    CHECK(mem_in_use() > start);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

static struct subscription *find_sub(struct session *s, const char *f)
{
    for (size_t i = 0; i < s->n_subs; i++)
        if (s->subs[i].filter_len == strlen(f) && memcmp(s->subs[i].filter, f, strlen(f)) == 0)
            return &s->subs[i];
    return NULL;
}

static void test_subs(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    CHECK_EQ_INT(session_sub_set(s, "a/b", 3, 1, 5), 1);
    CHECK_EQ_INT(session_sub_set(s, "a/b", 3, 2, 7), 0);
    CHECK_EQ_INT(s->n_subs, 1);
    REQUIRE(find_sub(s, "a/b"));
    CHECK_EQ_INT(find_sub(s, "a/b")->options, 2);
    CHECK_EQ_INT(find_sub(s, "a/b")->sub_id, 7);
    /* Only len bytes count: "a/bc" with len 4 is another filter, "a/bXYZ" with len 3 is "a/b". */
    CHECK_EQ_INT(session_sub_set(s, "a/bc", 4, 0, 0), 1);
    CHECK_EQ_INT(session_sub_set(s, "a/bXYZ", 3, 0, 9), 0);
    CHECK_EQ_INT(find_sub(s, "a/b")->sub_id, 9);
    const char *more[] = {"a/+", "#", "$share/g/x", "c", "d/e/f"};
    for (size_t i = 0; i < 5; i++)
        CHECK_EQ_INT(session_sub_set(s, more[i], strlen(more[i]), 1, 0), 1);
    CHECK_EQ_INT(s->n_subs, 7);
    struct subscription *sh = find_sub(s, "$share/g/x");
    REQUIRE(sh);
    CHECK_EQ_INT(sh->filter_len, 10);
    CHECK(strcmp(sh->filter, "$share/g/x") == 0); /* stored NUL-terminated */

    CHECK_EQ_INT(session_sub_remove(s, "zz", 2), TERN_ENOTFOUND);
    CHECK_EQ_INT(session_sub_remove(s, "a/", 2), TERN_ENOTFOUND);
    CHECK_EQ_INT(session_sub_remove(s, "a/b", 3), 0);
    CHECK_EQ_INT(session_sub_remove(s, "a/b", 3), TERN_ENOTFOUND);
    CHECK_EQ_INT(s->n_subs, 6);
    CHECK(find_sub(s, "a/b") == NULL);
    CHECK(find_sub(s, "a/bc") && find_sub(s, "a/+") && find_sub(s, "#") && find_sub(s, "c"));
    CHECK(find_sub(s, "$share/g/x") && find_sub(s, "d/e/f"));

    session_subs_clear(s);
    CHECK_EQ_INT(s->n_subs, 0);
    CHECK(find_sub(s, "a/+") == NULL);
    CHECK_EQ_INT(session_sub_remove(s, "a/+", 3), TERN_ENOTFOUND);
    CHECK_EQ_INT(session_sub_set(s, "a/+", 3, 0, 0), 1);
    CHECK_EQ_INT(s->n_subs, 1);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void add_inflight(struct session *s, uint16_t id)
{
    struct delivery d = mk_del(id);
    REQUIRE(d.m);
    CHECK_EQ_INT(session_inflight_add(s, id, INFLIGHT_WAIT_PUBACK, &d), 0);
}

/* The first 65535 ids are 1..65535 each once (never 0), then they start again at 1. */
static void test_packet_ids_cycle(void)
{
    struct session *s = mk_session();
    REQUIRE(s);
    for (uint32_t i = 1; i <= 65535; i++) {
        uint16_t id = session_next_packet_id(s);
        CHECK(id != 0);
        if (id != i) {
            CHECK_EQ_INT(id, i);
            break;
        }
    }
    CHECK_EQ_INT(session_next_packet_id(s), 1);
    CHECK_EQ_INT(session_next_packet_id(s), 2);
    session_unref(s);
}

static void test_packet_ids_skip_in_flight(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    CHECK_EQ_INT(session_next_packet_id(s), 1);
    add_inflight(s, 2);
    add_inflight(s, 3);
    add_inflight(s, 5);
    CHECK_EQ_INT(session_next_packet_id(s), 4);
    CHECK_EQ_INT(session_next_packet_id(s), 6);

    /* Wrap: 65535 is handed out, 0 never, and 1 and 2 are skipped while in flight. */
    add_inflight(s, 1);
    s->next_packet_id = 65534;
    CHECK_EQ_INT(session_next_packet_id(s), 65534);
    CHECK_EQ_INT(session_next_packet_id(s), 65535);
    CHECK_EQ_INT(session_next_packet_id(s), 4);
    add_inflight(s, 65535);
    s->next_packet_id = 65535;
    CHECK_EQ_INT(session_next_packet_id(s), 4);
    session_inflight_remove(s, session_inflight_find(s, 2));
    s->next_packet_id = 65535;
    CHECK_EQ_INT(session_next_packet_id(s), 2);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void check_inflight_order(struct session *s, const uint16_t *ids, size_t n)
{
    CHECK_EQ_INT(s->n_inflight, n);
    for (size_t i = 0; i < n && i < s->n_inflight; i++) {
        CHECK_EQ_INT(s->inflight[i].packet_id, ids[i]);
        CHECK_EQ_INT(s->inflight[i].d.m->origin_id, ids[i]);
    }
}

static void test_inflight(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    struct msg *keep = NULL;
    for (uint16_t id = 10; id <= 16; id++) {
        struct delivery d = mk_del(id);
        REQUIRE(d.m);
        d.qos = 2;
        d.retain = true;
        if (id == 12)
            keep = msg_ref(d.m);
        uint8_t st = id == 12 ? INFLIGHT_WAIT_PUBREC : INFLIGHT_WAIT_PUBACK;
        CHECK_EQ_INT(session_inflight_add(s, id, st, &d), 0);
        CHECK(d.m == NULL); /* taken over */
    }
    const uint16_t all[] = {10, 11, 12, 13, 14, 15, 16};
    check_inflight_order(s, all, 7);
    CHECK(session_inflight_find(s, 9) == NULL);
    CHECK(session_inflight_find(s, 0) == NULL);
    struct inflight *f = session_inflight_find(s, 12);
    REQUIRE(f);
    CHECK_EQ_INT(f->state, INFLIGHT_WAIT_PUBREC);
    CHECK_EQ_INT(f->d.qos, 2);
    CHECK(f->d.retain);
    CHECK(f->d.m == keep);
    CHECK_EQ_INT(refs_of(keep), 2);
    f->state = INFLIGHT_WAIT_PUBCOMP;
    CHECK_EQ_INT(session_inflight_find(s, 12)->state, INFLIGHT_WAIT_PUBCOMP);

    session_inflight_remove(s, f);
    CHECK_EQ_INT(refs_of(keep), 1); /* the entry's reference was dropped */
    CHECK(session_inflight_find(s, 12) == NULL);
    const uint16_t a[] = {10, 11, 13, 14, 15, 16};
    check_inflight_order(s, a, 6);
    session_inflight_remove(s, session_inflight_find(s, 10));
    const uint16_t b[] = {11, 13, 14, 15, 16};
    check_inflight_order(s, b, 5);
    session_inflight_remove(s, session_inflight_find(s, 16));
    const uint16_t c[] = {11, 13, 14, 15};
    check_inflight_order(s, c, 4);
    add_inflight(s, 12);
    const uint16_t e[] = {11, 13, 14, 15, 12};
    check_inflight_order(s, e, 5);
    msg_unref(keep);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void push_tags(struct session *s, uint64_t from, uint64_t to)
{
    for (uint64_t t = from; t < to; t++) {
        struct delivery d = mk_del(t);
        REQUIRE(d.m);
        CHECK_EQ_INT(session_queue_push(s, &d, 0, 0), 0);
        CHECK(d.m == NULL);
    }
}

static void pop_tags(struct session *s, uint64_t from, uint64_t to)
{
    for (uint64_t t = from; t < to; t++) {
        struct delivery d;
        REQUIRE(session_queue_pop(s, &d));
        CHECK_EQ_INT(d.m->origin_id, t);
        CHECK_EQ_INT(refs_of(d.m), 1); /* the caller now holds the only reference */
        delivery_clear(&d);
    }
}

static void test_queue_fifo(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    struct delivery d;
    CHECK(!session_queue_pop(s, &d));
    /* Push 5, pop 3, push 10 (grows while the head is not at 0), pop all. */
    push_tags(s, 0, 5);
    pop_tags(s, 0, 3);
    push_tags(s, 5, 15);
    CHECK_EQ_INT(s->q_len, 12);
    pop_tags(s, 3, 15);
    CHECK(!session_queue_pop(s, &d));
    CHECK_EQ_INT(s->q_len, 0);
    CHECK_EQ_INT(s->q_bytes, 0);

    /* Wrap-around without growth, then growth of a wrapped ring. */
    size_t cap = s->q_cap;
    REQUIRE(cap >= 4);
    push_tags(s, 100, 100 + cap - 1);
    pop_tags(s, 100, 100 + cap - 2);
    push_tags(s, 100 + cap - 1, 100 + 2 * cap - 2); /* q_len = cap: wrapped, full */
    CHECK_EQ_INT(s->q_cap, cap);
    CHECK_EQ_INT(s->q_len, cap);
    push_tags(s, 100 + 2 * cap - 2, 100 + 2 * cap + 3);
    CHECK(s->q_cap > cap);
    pop_tags(s, 100 + cap - 2, 100 + 2 * cap + 3);
    CHECK_EQ_INT(s->q_len, 0);
    CHECK_EQ_INT(s->q_bytes, 0);

    push_tags(s, 200, 203);
    session_queue_clear(s);
    CHECK_EQ_INT(s->q_len, 0);
    CHECK_EQ_INT(s->q_bytes, 0);
    CHECK(!session_queue_pop(s, &d));
    push_tags(s, 300, 302);
    pop_tags(s, 300, 302);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void test_queue_bytes(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    uint64_t want = 0;
    for (size_t i = 0; i < 10; i++) {
        struct delivery d = {0};
        d.m = mk_msg(i, i * 20);
        REQUIRE(d.m);
        /* max_queued_bytes counts payload bytes, as Mosquitto does. */
        uint64_t cost = d.m->payload_len;
        CHECK_EQ_INT(cost, i * 20);
        want += cost;
        CHECK_EQ_INT(session_queue_push(s, &d, 0, 0), 0);
        CHECK_EQ_INT(s->q_bytes, want);
    }
    for (size_t i = 0; i < 4; i++) {
        struct delivery d;
        REQUIRE(session_queue_pop(s, &d));
        want -= d.m->payload_len;
        CHECK_EQ_INT(s->q_bytes, want);
        delivery_clear(&d);
    }
    CHECK_EQ_INT(want, 20 * (4 + 5 + 6 + 7 + 8 + 9));
    session_queue_clear(s);
    CHECK_EQ_INT(s->q_bytes, 0);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

/* A refused push leaves the delivery with the caller, its reference intact, and the queue as it
 * was. False (after recording the failures) when it was not refused. */
static bool refused(struct session *s, int rc, struct delivery *d, size_t len, uint64_t bytes)
{
    CHECK_EQ_INT(rc, TERN_EFULL);
    if (rc != TERN_EFULL || !d->m)
        return false;
    CHECK_EQ_INT(refs_of(d->m), 1);
    CHECK_EQ_INT(d->n_sub_ids, 2);
    CHECK_EQ_INT(s->q_len, len);
    CHECK_EQ_INT(s->q_bytes, bytes);
    return true;
}

static void test_queue_caps(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    struct delivery d = mk_del(1);
    REQUIRE(d.m);
    d.n_sub_ids = 2;
    d.sub_ids = mem_alloc(2 * sizeof *d.sub_ids);
    REQUIRE(d.sub_ids);
    uint64_t cost = d.m->payload_len; /* payload bytes */
    /* max_bytes below one message: refused on an empty queue. */
    REQUIRE(refused(s, session_queue_push(s, &d, 0, cost - 1), &d, 0, 0));
    /* max_msgs = 2. */
    push_tags(s, 10, 12);
    REQUIRE(refused(s, session_queue_push(s, &d, 2, 0), &d, 2, 2 * cost));
    /* max_bytes: exactly 3 messages fit, a 4th does not. */
    REQUIRE(refused(s, session_queue_push(s, &d, 0, 3 * cost - 1), &d, 2, 2 * cost));
    CHECK_EQ_INT(session_queue_push(s, &d, 3, 3 * cost), 0);
    CHECK(d.m == NULL && d.sub_ids == NULL);
    CHECK_EQ_INT(s->q_len, 3);
    CHECK_EQ_INT(s->q_bytes, 3 * cost);
    d = mk_del(2);
    REQUIRE(d.m);
    d.n_sub_ids = 2;
    d.sub_ids = mem_alloc(2 * sizeof *d.sub_ids);
    REQUIRE(d.sub_ids);
    REQUIRE(refused(s, session_queue_push(s, &d, 0, 3 * cost), &d, 3, 3 * cost));
    REQUIRE(refused(s, session_queue_push(s, &d, 3, 0), &d, 3, 3 * cost));
    /* After a pop there is room again. */
    pop_tags(s, 10, 11);
    CHECK_EQ_INT(session_queue_push(s, &d, 3, 3 * cost), 0);
    pop_tags(s, 11, 12);
    struct delivery out;
    REQUIRE(session_queue_pop(s, &out));
    CHECK_EQ_INT(out.m->origin_id, 1);
    CHECK_EQ_INT(out.n_sub_ids, 2);
    delivery_clear(&out);
    REQUIRE(session_queue_pop(s, &out));
    CHECK_EQ_INT(out.m->origin_id, 2);
    delivery_clear(&out);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void test_qos2(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    CHECK(!session_qos2_has(s, 5));
    CHECK(!session_qos2_remove(s, 5));
    for (uint16_t id = 5; id <= 14; id++)
        CHECK_EQ_INT(session_qos2_add(s, id), 0);
    CHECK_EQ_INT(session_qos2_add(s, 65535), 0);
    for (uint16_t id = 5; id <= 14; id++)
        CHECK(session_qos2_has(s, id));
    CHECK(session_qos2_has(s, 65535));
    CHECK(!session_qos2_has(s, 4));
    CHECK(!session_qos2_has(s, 15));
    CHECK(session_qos2_remove(s, 7));
    CHECK(!session_qos2_has(s, 7));
    CHECK(!session_qos2_remove(s, 7));
    CHECK(session_qos2_remove(s, 5));
    CHECK(session_qos2_remove(s, 65535));
    for (uint16_t id = 6; id <= 14; id++)
        CHECK(session_qos2_has(s, id) == (id != 7));
    CHECK_EQ_INT(s->n_qos2_in, 8);
    for (uint16_t id = 6; id <= 14; id++)
        CHECK(session_qos2_remove(s, id) == (id != 7));
    CHECK_EQ_INT(s->n_qos2_in, 0);
    CHECK_EQ_INT(session_qos2_add(s, 9), 0);
    CHECK(session_qos2_has(s, 9));
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

static void test_will(void)
{
    size_t start = mem_in_use();
    struct session *s = mk_session();
    REQUIRE(s);
    struct msg *m1 = mk_msg(1, 8);
    struct msg *m2 = mk_msg(2, 8);
    REQUIRE(m1 && m2);
    msg_ref(m1);
    msg_ref(m2);
    session_set_will(s, m1, 10); /* takes over one of m1's two references */
    CHECK(s->will == m1);
    CHECK_EQ_INT(s->will_delay_s, 10);
    CHECK_EQ_INT(refs_of(m1), 2);
    session_set_will(s, m2, 5);
    CHECK(s->will == m2);
    CHECK_EQ_INT(s->will_delay_s, 5);
    CHECK_EQ_INT(refs_of(m1), 1); /* the replaced will's reference was dropped */
    CHECK_EQ_INT(refs_of(m2), 2);
    session_set_will(s, NULL, 0);
    CHECK(s->will == NULL);
    CHECK_EQ_INT(s->will_delay_s, 0);
    CHECK_EQ_INT(refs_of(m2), 1);
    msg_unref(m1);
    msg_unref(m2);
    /* A will still set is dropped with the session. */
    session_set_will(s, mk_msg(3, 8), 1);
    CHECK(s->will != NULL);
    session_unref(s);
    CHECK_EQ_INT(mem_in_use(), start);
}

static bool delivery_is_zero(const struct delivery *d)
{
    static const struct delivery zero;
    return memcmp(d, &zero, sizeof zero) == 0;
}

static void test_delivery_clear(void)
{
    size_t start = mem_in_use();
    struct delivery d = mk_del(1);
    REQUIRE(d.m);
    delivery_clear(&d); /* no subscription id */
    CHECK(delivery_is_zero(&d));
    CHECK_EQ_INT(mem_in_use(), start);

    d = mk_del(2);
    REQUIRE(d.m);
    struct msg *m = msg_ref(d.m);
    d.n_sub_ids = 1;
    d.sub_id = 77;
    delivery_clear(&d); /* one inline id: nothing else to free */
    CHECK(delivery_is_zero(&d));
    CHECK_EQ_INT(refs_of(m), 1);
    msg_unref(m);
    CHECK_EQ_INT(mem_in_use(), start);

    d = mk_del(3);
    REQUIRE(d.m);
    d.n_sub_ids = 4;
    d.sub_ids = mem_alloc(4 * sizeof *d.sub_ids);
    REQUIRE(d.sub_ids);
    for (uint32_t i = 0; i < 4; i++)
        d.sub_ids[i] = i + 1;
    delivery_clear(&d); /* several: the array is freed */
    CHECK(delivery_is_zero(&d));
    CHECK_EQ_INT(mem_in_use(), start);

    delivery_clear(&d); /* an empty delivery */
    CHECK(delivery_is_zero(&d));
}

/* ---- Allocation failures: for N = 1.. fail the Nth allocation of the operation until it
 * succeeds; every failure must be a clean TERN_ENOMEM that changes nothing and leaks nothing. */

#define MAX_FAIL 32

static void test_fail_new(void)
{
    size_t start = mem_in_use();
    uint64_t n;
    for (n = 1; n < MAX_FAIL; n++) {
        mem_fail_at(n);
        struct session *s = session_new("client-1", 8, 1);
        mem_fail_at(0);
        if (s) {
            CHECK(strcmp(s->client_id, "client-1") == 0);
            session_unref(s);
            break;
        }
        CHECK_EQ_INT(mem_in_use(), start);
    }
    CHECK(n > 1 && n < MAX_FAIL);
    CHECK_EQ_INT(mem_in_use(), start);
}

/* prefill subscriptions, then the failing set of a new one. */
static void fail_sub_set(size_t prefill)
{
    size_t start = mem_in_use();
    uint64_t n;
    for (n = 1; n < MAX_FAIL; n++) {
        struct session *s = mk_session();
        REQUIRE(s);
        char f[32];
        for (size_t i = 0; i < prefill; i++) {
            snprintf(f, sizeof f, "p/%zu", i);
            CHECK_EQ_INT(session_sub_set(s, f, strlen(f), 0, 0), 1);
        }
        mem_fail_at(n);
        int rc = session_sub_set(s, "new/+", 5, 2, 3);
        mem_fail_at(0);
        if (rc == 1) {
            CHECK_EQ_INT(s->n_subs, prefill + 1);
            CHECK(find_sub(s, "new/+") != NULL);
        } else {
            CHECK_EQ_INT(rc, TERN_ENOMEM);
            CHECK_EQ_INT(s->n_subs, prefill);
            CHECK(find_sub(s, "new/+") == NULL);
        }
        CHECK_EQ_INT(session_sub_set(s, "p/0", 3, 1, 1), prefill ? 0 : 1);
        session_unref(s);
        CHECK_EQ_INT(mem_in_use(), start);
        if (rc == 1)
            break;
    }
    CHECK(n > 1 && n < MAX_FAIL);
}

static void test_fail_sub_set(void)
{
    fail_sub_set(0); /* first array */
    fail_sub_set(4); /* array growth */
    fail_sub_set(5); /* no growth: only the filter copy */
}

static void fail_inflight_add(uint16_t prefill)
{
    size_t start = mem_in_use();
    uint64_t n;
    for (n = 1; n < MAX_FAIL; n++) {
        struct session *s = mk_session();
        REQUIRE(s);
        for (uint16_t id = 1; id <= prefill; id++)
            add_inflight(s, id);
        struct delivery d = mk_del(500);
        REQUIRE(d.m);
        mem_fail_at(n);
        int rc = session_inflight_add(s, 500, INFLIGHT_WAIT_PUBREC, &d);
        mem_fail_at(0);
        if (rc == 0) {
            CHECK(d.m == NULL);
            CHECK_EQ_INT(s->n_inflight, prefill + 1u);
            CHECK(session_inflight_find(s, 500) != NULL);
        } else {
            CHECK_EQ_INT(rc, TERN_ENOMEM);
            REQUIRE(d.m); /* still the caller's */
            CHECK_EQ_INT(refs_of(d.m), 1);
            CHECK_EQ_INT(s->n_inflight, prefill);
            CHECK(session_inflight_find(s, 500) == NULL);
            for (uint16_t id = 1; id <= prefill; id++)
                CHECK(s->inflight[id - 1].packet_id == id);
            delivery_clear(&d);
        }
        session_unref(s);
        CHECK_EQ_INT(mem_in_use(), start);
        if (rc == 0)
            break;
    }
    CHECK(n > 1 && n < MAX_FAIL);
}

static void test_fail_inflight_add(void)
{
    fail_inflight_add(0);
    fail_inflight_add(4);
    fail_inflight_add(8);
}

static void fail_queue_push(uint64_t prefill, uint64_t popped)
{
    size_t start = mem_in_use();
    uint64_t n;
    for (n = 1; n < MAX_FAIL; n++) {
        struct session *s = mk_session();
        REQUIRE(s);
        push_tags(s, 0, prefill);
        pop_tags(s, 0, popped);
        push_tags(s, prefill, prefill + popped); /* full again, wrapped when popped > 0 */
        uint64_t bytes = s->q_bytes;
        struct delivery d = mk_del(1000);
        REQUIRE(d.m);
        mem_fail_at(n);
        int rc = session_queue_push(s, &d, 0, 0);
        mem_fail_at(0);
        if (rc == 0) {
            CHECK(d.m == NULL);
            pop_tags(s, popped, prefill + popped);
            pop_tags(s, 1000, 1001);
        } else {
            CHECK_EQ_INT(rc, TERN_ENOMEM);
            REQUIRE(d.m);
            CHECK_EQ_INT(refs_of(d.m), 1);
            CHECK_EQ_INT(s->q_bytes, bytes);
            pop_tags(s, popped, prefill + popped); /* queue intact, in order */
            delivery_clear(&d);
        }
        struct delivery x;
        CHECK(!session_queue_pop(s, &x));
        session_unref(s);
        CHECK_EQ_INT(mem_in_use(), start);
        if (rc == 0)
            break;
    }
    CHECK(n > 1 && n < MAX_FAIL);
}

static void test_fail_queue_push(void)
{
    fail_queue_push(0, 0); /* first ring */
    fail_queue_push(8, 0); /* growth of a full ring */
    fail_queue_push(8, 3); /* growth of a full, wrapped ring */
}

static void fail_qos2_add(uint16_t prefill)
{
    size_t start = mem_in_use();
    uint64_t n;
    for (n = 1; n < MAX_FAIL; n++) {
        struct session *s = mk_session();
        REQUIRE(s);
        for (uint16_t id = 1; id <= prefill; id++)
            CHECK_EQ_INT(session_qos2_add(s, id), 0);
        mem_fail_at(n);
        int rc = session_qos2_add(s, 900);
        mem_fail_at(0);
        CHECK(rc == 0 || rc == TERN_ENOMEM);
        CHECK(session_qos2_has(s, 900) == (rc == 0));
        CHECK_EQ_INT(s->n_qos2_in, prefill + (rc == 0));
        for (uint16_t id = 1; id <= prefill; id++)
            CHECK(session_qos2_has(s, id));
        session_unref(s);
        CHECK_EQ_INT(mem_in_use(), start);
        if (rc == 0)
            break;
    }
    CHECK(n > 1 && n < MAX_FAIL);
}

static void test_fail_qos2_add(void)
{
    fail_qos2_add(0);
    fail_qos2_add(4);
}

UNIT_MAIN(UNIT_TEST(test_new_ref_unref), UNIT_TEST(test_unref_frees_everything),
          UNIT_TEST(test_subs), UNIT_TEST(test_packet_ids_cycle),
          UNIT_TEST(test_packet_ids_skip_in_flight), UNIT_TEST(test_inflight),
          UNIT_TEST(test_queue_fifo), UNIT_TEST(test_queue_bytes), UNIT_TEST(test_queue_caps),
          UNIT_TEST(test_qos2), UNIT_TEST(test_will), UNIT_TEST(test_delivery_clear),
          UNIT_TEST(test_fail_new), UNIT_TEST(test_fail_sub_set), UNIT_TEST(test_fail_inflight_add),
          UNIT_TEST(test_fail_queue_push), UNIT_TEST(test_fail_qos2_add))
