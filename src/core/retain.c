/* Retained messages in a topic-level tree: each node holds its named children in an
 * open-addressing hash table, at most one message and that message's publisher. A filter walks
 * only the branches it can match. One rwlock guards the whole store: matches share it,
 * set/expire take it exclusively. Nodes left without message and children are pruned. */
#include "retain.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "msg.h"

/* Who published a node's message (check_retain_source), one allocation. */
struct rsrc {
    char *username; /* points into the same allocation, or NULL */
    const void *listener;
    char client_id[];
};

/* A removed slot; never dereferenced. */
#define TOMB ((struct rnode *)(uintptr_t)1)

struct rnode {
    struct rnode *parent;
    struct rnode **kids; /* cap slots, NULL when there are no children */
    uint32_t cap;
    uint32_t used; /* live + TOMB */
    uint32_t live;
    uint32_t key_hash;
    struct msg *msg;
    struct rsrc *src; /* publisher of msg, or NULL (unknown or the broker) */
    size_t key_len;
    char key[];
};

struct retain {
    pthread_rwlock_t lock;
    struct rnode *root;
    uint32_t max_count;
    uint64_t max_bytes;
    size_t sys_count; /* $SYS topics (the broker's own), left out of the caps; under lock */
    uint64_t sys_bytes;
    size_t expiring; /* messages with an expiry, under lock; 0 lets retain_expire skip the walk */
    _Atomic size_t count;
    _Atomic uint64_t bytes;
    _Atomic uint64_t next_sweep_ms; /* retain_sweep: 0 = not scheduled yet */
};

struct walk {
    uint64_t now_ms;
    void (*fn)(struct msg *m, void *ctx);
    retain_match_fn fn_src; /* instead of fn when set */
    void *ctx;
};

static uint32_t hash_level(const void *p, size_t len)
{
    const uint8_t *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

static size_t level_end(struct tern_bytes s, size_t pos)
{
    const void *slash = pos < s.len ? memchr(s.ptr + pos, '/', s.len - pos) : NULL;
    return slash ? (size_t)((const uint8_t *)slash - s.ptr) : s.len;
}

static struct rnode **slot_find(const struct rnode *n, const void *key, size_t len)
{
    if (!n->kids)
        return NULL;
    uint32_t h = hash_level(key, len);
    uint32_t mask = n->cap - 1;
    uint32_t p = h & mask;
    for (uint32_t i = 0; i < n->cap; i++, p = (p + 1) & mask) {
        struct rnode *c = n->kids[p];
        if (!c)
            return NULL;
        if (c != TOMB && c->key_hash == h && c->key_len == len && memcmp(c->key, key, len) == 0)
            return &n->kids[p];
    }
    return NULL;
}

static struct rnode *child_find(const struct rnode *n, const void *key, size_t len)
{
    struct rnode **s = slot_find(n, key, len);
    return s ? *s : NULL;
}

static void slot_place(struct rnode *n, struct rnode *c)
{
    uint32_t mask = n->cap - 1;
    uint32_t p = c->key_hash & mask;
    while (n->kids[p] && n->kids[p] != TOMB)
        p = (p + 1) & mask;
    if (!n->kids[p])
        n->used++;
    n->live++;
    n->kids[p] = c;
}

static int child_put(struct rnode *n, struct rnode *c)
{
    if (!n->kids || (n->used + 1) * 4 > n->cap * 3) {
        uint32_t cap = 4;
        while ((n->live + 1) * 2 > cap)
            cap *= 2;
        struct rnode **old = n->kids;
        uint32_t old_cap = n->cap;
        n->kids = mem_calloc(cap, sizeof *n->kids);
        if (!n->kids) {
            n->kids = old;
            return TERN_ENOMEM;
        }
        n->cap = cap;
        n->used = 0;
        n->live = 0;
        for (uint32_t i = 0; i < old_cap; i++)
            if (old[i] && old[i] != TOMB)
                slot_place(n, old[i]);
        mem_free(old);
    }
    slot_place(n, c);
    return 0;
}

/* Frees the child in *slot of n (which must be empty) and n's table when that was the last. */
static void child_drop(struct rnode *n, struct rnode **slot)
{
    mem_free(*slot);
    *slot = TOMB;
    if (--n->live == 0) {
        mem_free(n->kids);
        n->kids = NULL;
        n->cap = 0;
        n->used = 0;
    }
}

static struct rnode *node_new(struct rnode *parent, const void *key, size_t len)
{
    struct rnode *n = mem_calloc(1, sizeof *n + len + 1);
    if (!n)
        return NULL;
    n->parent = parent;
    n->key_hash = hash_level(key, len);
    n->key_len = len;
    if (len)
        memcpy(n->key, key, len);
    return n;
}

static bool node_empty(const struct rnode *n)
{
    return n->parent && !n->msg && n->live == 0;
}

static void prune(struct rnode *n)
{
    while (node_empty(n)) {
        struct rnode *p = n->parent;
        struct rnode **slot = slot_find(p, n->key, n->key_len);
        child_drop(p, slot);
        n = p;
    }
}

/* The node of topic; creates missing levels when create is set (NULL on OOM, with nothing new
 * left behind). */
static struct rnode *path_get(struct rnode *root, struct tern_bytes topic, bool create)
{
    struct rnode *n = root;
    size_t pos = 0;
    while (pos <= topic.len) {
        size_t end = level_end(topic, pos);
        struct rnode *c = child_find(n, topic.ptr + pos, end - pos);
        if (!c && create) {
            c = node_new(n, topic.ptr + pos, end - pos);
            if (c && child_put(n, c) < 0) {
                mem_free(c);
                c = NULL;
            }
            if (!c)
                prune(n);
        }
        if (!c)
            return NULL;
        n = c;
        pos = end + 1;
    }
    return n;
}

struct retain *retain_new(uint32_t max_count, uint64_t max_bytes)
{
    struct retain *r = mem_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->root = node_new(NULL, "", 0);
    if (!r->root)
        goto fail;
    if (pthread_rwlock_init(&r->lock, NULL) != 0)
        goto fail;
    r->max_count = max_count;
    r->max_bytes = max_bytes;
    atomic_init(&r->count, 0);
    atomic_init(&r->bytes, 0);
    atomic_init(&r->next_sweep_ms, 0);
    return r;
fail:
    mem_free(r->root);
    mem_free(r);
    return NULL;
}

void retain_set_limits(struct retain *r, uint32_t max_count, uint64_t max_bytes)
{
    pthread_rwlock_wrlock(&r->lock);
    r->max_count = max_count;
    r->max_bytes = max_bytes;
    pthread_rwlock_unlock(&r->lock);
}

static void node_free_all(struct rnode *n)
{
    for (uint32_t i = 0; i < n->cap; i++)
        if (n->kids[i] && n->kids[i] != TOMB)
            node_free_all(n->kids[i]);
    mem_free(n->kids);
    msg_unref(n->msg);
    mem_free(n->src);
    mem_free(n);
}

void retain_free(struct retain *r)
{
    if (!r)
        return;
    node_free_all(r->root);
    pthread_rwlock_destroy(&r->lock);
    mem_free(r);
}

/* Takes the message out of n (under the write lock); the caller prunes. */
static bool is_sys(const struct msg *m)
{
    return bytes_has_prefix(msg_topic(m), "$SYS/");
}

static void node_clear(struct retain *r, struct rnode *n)
{
    if (!n->msg)
        return;
    if (n->msg->expiry_at_ms)
        r->expiring--;
    atomic_fetch_sub_explicit(&r->count, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&r->bytes, msg_cost(n->msg), memory_order_relaxed);
    if (is_sys(n->msg)) {
        r->sys_count--;
        r->sys_bytes -= msg_cost(n->msg);
    }
    msg_unref(n->msg);
    n->msg = NULL;
    mem_free(n->src);
    n->src = NULL;
}

/* Whether storing a message of cost bytes at n (NULL: a new topic) stays within the caps. The
 * broker's own $SYS topics neither count towards the caps nor are refused by them. */
static bool fits(const struct retain *r, const struct rnode *n, const struct msg *m, uint64_t cost)
{
    if (is_sys(m))
        return true;
    uint64_t bytes = atomic_load_explicit(&r->bytes, memory_order_relaxed) - r->sys_bytes;
    size_t count = atomic_load_explicit(&r->count, memory_order_relaxed) - r->sys_count;
    bool is_new = !n || !n->msg;
    if (is_new && r->max_count && count + 1 > r->max_count)
        return false;
    if (!is_new)
        bytes -= msg_cost(n->msg);
    return !r->max_bytes || bytes + cost <= r->max_bytes;
}

int retain_set(struct retain *r, struct msg *m)
{
    struct tern_bytes topic = msg_topic(m);
    int rc = 0;
    pthread_rwlock_wrlock(&r->lock);
    struct rnode *n = path_get(r->root, topic, false);
    if (m->payload_len == 0) {
        /* A zero-length retained payload removes the retained message of the topic and is not
         * stored itself [MQTT-3.3.1-6], [MQTT-3.3.1-7]. */
        if (n) {
            node_clear(r, n);
            prune(n);
        }
        goto out;
    }
    uint64_t cost = msg_cost(m);
    if (!fits(r, n, m, cost)) {
        rc = TERN_EFULL;
        goto out;
    }
    if (!n && !(n = path_get(r->root, topic, true))) {
        rc = TERN_ENOMEM;
        goto out;
    }
    node_clear(r, n);
    n->msg = msg_ref(m);
    if (m->expiry_at_ms)
        r->expiring++;
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->bytes, cost, memory_order_relaxed);
    if (is_sys(m)) {
        r->sys_count++;
        r->sys_bytes += cost;
    }
out:
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

static void emit(const struct rnode *n, const struct walk *w)
{
    if (!n->msg || msg_expired(n->msg, w->now_ms))
        return;
    if (!w->fn_src) {
        w->fn(n->msg, w->ctx);
        return;
    }
    struct retain_source view = {0};
    if (n->src)
        view = (struct retain_source){n->src->client_id, n->src->username, n->src->listener};
    w->fn_src(n->msg, n->src ? &view : NULL, w->ctx);
}

/* Reports n and everything below it; at the root, topics starting with '$' are left out because
 * a filter starting with a wildcard does not match them [MQTT-4.7.2-1]. */
static void walk_all(const struct rnode *n, const struct walk *w)
{
    emit(n, w);
    for (uint32_t i = 0; i < n->cap; i++) {
        const struct rnode *c = n->kids[i];
        if (!c || c == TOMB || (!n->parent && c->key_len && c->key[0] == '$'))
            continue;
        walk_all(c, w);
    }
}

static void match_from(const struct rnode *n, struct tern_bytes filter, size_t pos,
                       const struct walk *w)
{
    while (pos <= filter.len) {
        size_t end = level_end(filter, pos);
        const uint8_t *key = filter.ptr + pos;
        size_t len = end - pos;
        if (len == 1 && key[0] == '#') {
            /* '#' matches the parent level and every level below it [MQTT-4.7.1-2]. */
            walk_all(n, w);
            return;
        }
        if (len == 1 && key[0] == '+') {
            for (uint32_t i = 0; i < n->cap; i++) {
                const struct rnode *c = n->kids[i];
                if (!c || c == TOMB || (!n->parent && c->key_len && c->key[0] == '$'))
                    continue;
                match_from(c, filter, end + 1, w);
            }
            return;
        }
        n = child_find(n, key, len);
        if (!n)
            return;
        pos = end + 1;
    }
    emit(n, w);
}

void retain_match(struct retain *r, struct tern_bytes filter, uint64_t now_ms,
                  void (*fn)(struct msg *m, void *ctx), void *ctx)
{
    struct walk w = {now_ms, fn, NULL, ctx};
    if (filter.len == 0)
        return;
    pthread_rwlock_rdlock(&r->lock);
    match_from(r->root, filter, 0, &w);
    pthread_rwlock_unlock(&r->lock);
}

void retain_match_src(struct retain *r, struct tern_bytes filter, uint64_t now_ms,
                      retain_match_fn fn, void *ctx)
{
    struct walk w = {now_ms, NULL, fn, ctx};
    if (filter.len == 0)
        return;
    pthread_rwlock_rdlock(&r->lock);
    match_from(r->root, filter, 0, &w);
    pthread_rwlock_unlock(&r->lock);
}

static struct rsrc *rsrc_new(const struct retain_source *src)
{
    size_t il = strlen(src->client_id), ul = src->username ? strlen(src->username) : 0;
    struct rsrc *x = mem_alloc(sizeof *x + il + 1 + (src->username ? ul + 1 : 0));
    if (!x)
        return NULL;
    memcpy(x->client_id, src->client_id, il + 1);
    x->username = NULL;
    if (src->username) {
        x->username = x->client_id + il + 1;
        memcpy(x->username, src->username, ul + 1);
    }
    x->listener = src->listener;
    return x;
}

int retain_set_source(struct retain *r, const struct msg *m, const struct retain_source *src)
{
    struct rsrc *x = rsrc_new(src);
    if (!x)
        return TERN_ENOMEM;
    pthread_rwlock_wrlock(&r->lock);
    struct rnode *n = path_get(r->root, msg_topic(m), false);
    /* Only the message the caller stored: a later one of the same topic has its own source. */
    if (n && n->msg == m) {
        mem_free(n->src);
        n->src = x;
        x = NULL;
    }
    pthread_rwlock_unlock(&r->lock);
    mem_free(x);
    return 0;
}

/* Clears expired messages below n (counted in *removed) and drops children left empty; true
 * when n is empty. */
static bool expire_walk(struct retain *r, struct rnode *n, uint64_t now_ms, size_t *removed)
{
    if (n->msg && msg_expired(n->msg, now_ms)) {
        node_clear(r, n);
        (*removed)++;
    }
    for (uint32_t i = 0; n->kids && i < n->cap; i++) {
        struct rnode *c = n->kids[i];
        if (c && c != TOMB && expire_walk(r, c, now_ms, removed))
            child_drop(n, &n->kids[i]);
    }
    return node_empty(n);
}

size_t retain_expire(struct retain *r, uint64_t now_ms)
{
    size_t removed = 0;
    pthread_rwlock_wrlock(&r->lock);
    if (r->expiring)
        expire_walk(r, r->root, now_ms, &removed);
    pthread_rwlock_unlock(&r->lock);
    return removed;
}

size_t retain_sweep(struct retain *r, uint64_t now_ms, uint64_t period_ms)
{
    uint64_t due = atomic_load(&r->next_sweep_ms);
    if (period_ms == 0) {
        atomic_store(&r->next_sweep_ms, 0); /* off: a later period starts afresh */
        return 0;
    }
    if (due == 0 || due > now_ms + period_ms) {
        /* First call, or the period got shorter (reload): the first sweep is one period away. */
        atomic_store(&r->next_sweep_ms, now_ms + period_ms);
        return 0;
    }
    if (now_ms < due)
        return 0;
    atomic_store(&r->next_sweep_ms, now_ms + period_ms);
    return retain_expire(r, now_ms);
}

size_t retain_count(struct retain *r)
{
    return atomic_load_explicit(&r->count, memory_order_relaxed);
}

uint64_t retain_bytes(struct retain *r)
{
    return atomic_load_explicit(&r->bytes, memory_order_relaxed);
}

static void foreach_from(const struct rnode *n, void (*fn)(struct msg *m, void *ctx), void *ctx)
{
    if (n->msg)
        fn(n->msg, ctx);
    for (uint32_t i = 0; i < n->cap; i++)
        if (n->kids[i] && n->kids[i] != TOMB)
            foreach_from(n->kids[i], fn, ctx);
}

void retain_foreach(struct retain *r, void (*fn)(struct msg *m, void *ctx), void *ctx)
{
    pthread_rwlock_rdlock(&r->lock);
    foreach_from(r->root, fn, ctx);
    pthread_rwlock_unlock(&r->lock);
}
