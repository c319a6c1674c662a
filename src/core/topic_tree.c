/* The subscription tree: one node per filter level, with named children in a small
 * open-addressing hash table and dedicated '+' and '#' slots. Readers walk it under RCU
 * (liburcu-bp) with acquire loads only; writers hold t->lock, publish with release stores and
 * retire unlinked objects, which are freed in batches after a grace period. It does not
 * validate filters or topics (the codec does) and knows nothing of sessions. */
#include "topic_tree.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <urcu-bp.h>

#include "codec.h"
#include "err.h"
#include "mem.h"

/* ThreadSanitizer cannot see RCU grace periods: readers "release" a sync address when they
 * leave a read-side section and the reclaimer "acquires" it after synchronize_rcu, which is
 * exactly the ordering the grace period guarantees. */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_ACQUIRE(p) __tsan_acquire(p)
#define TSAN_RELEASE(p) __tsan_release(p)
#else
#define TSAN_ACQUIRE(p) ((void)(p))
#define TSAN_RELEASE(p) ((void)(p))
#endif

#define GC_BATCH 64
/* A removed entry in an open-addressing table; never dereferenced. */
#define TOMB       ((struct tnode *)(uintptr_t)1)
#define INDEX_TOMB ((struct sub *)(uintptr_t)1)

enum { KIND_ROOT, KIND_NAMED, KIND_PLUS, KIND_HASH };

/* Every object readers may see starts with this link; retired objects are chained through it
 * and freed with mem_free(link) after a grace period. */
struct gc_link {
    struct gc_link *next;
};

/* A non-shared subscription. opts = options << 32 | sub_id, one word so that a reader never sees
 * the options of one subscribe with the identifier of another. */
struct sub {
    struct gc_link gc;
    _Atomic(struct sub *) next;
    struct sub *prev; /* writer only */
    struct tnode *node;
    void *subscriber;
    _Atomic uint64_t opts;
};

struct member {
    void *subscriber;
    uint64_t opts;
};

/* A shared group's members: copied on every change, so readers index a stable array. */
struct members {
    struct gc_link gc;
    uint32_t n;
    struct member m[];
};

struct group {
    struct gc_link gc;
    _Atomic(struct group *) next;
    struct group *prev; /* writer only */
    _Atomic(struct members *) members;
    _Atomic uint32_t rr;
    size_t name_len;
    char name[];
};

/* Named children. cap is a power of two and fixed for the table's life; writers fill empty or
 * TOMB slots in place and build a new table to grow or to drop tombstones. */
struct kids {
    struct gc_link gc;
    uint32_t cap;
    uint32_t used; /* live + TOMB, writer only */
    uint32_t live; /* writer only */
    _Atomic(struct tnode *) slot[];
};

struct tnode {
    struct gc_link gc;
    struct tnode *parent;
    _Atomic(struct kids *) kids;
    _Atomic(struct tnode *) plus;
    _Atomic(struct tnode *) hash;
    _Atomic(struct sub *) subs;
    _Atomic(struct group *) groups;
    uint32_t key_hash;
    uint8_t kind;
    size_t key_len;
    char key[];
};

struct topic_tree {
    pthread_mutex_t lock; /* serialises writers; readers never take it */
    struct tnode *root;
    /* Writer-only index (node, subscriber) -> sub, linear probing with INDEX_TOMB. */
    struct sub **index;
    size_t index_cap;
    size_t index_used;
    size_t index_live;
    struct gc_link *garbage;
    size_t garbage_n;
    pthread_mutex_t gc_lock; /* guards gc_pending */
    pthread_cond_t gc_idle;  /* signalled when gc_pending drops to 0 */
    size_t gc_pending;       /* batches given to call_rcu and not yet freed */
    _Atomic size_t count;
    char grace; /* TSan sync address only */
};

static uint32_t hash_level(const void *p, size_t len)
{
    const uint8_t *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static size_t level_end(struct tern_bytes s, size_t pos)
{
    const void *slash = pos < s.len ? memchr(s.ptr + pos, '/', s.len - pos) : NULL;
    return slash ? (size_t)((const uint8_t *)slash - s.ptr) : s.len;
}

static void retire(struct topic_tree *t, struct gc_link *g)
{
    g->next = t->garbage;
    t->garbage = g;
    t->garbage_n++;
}

static void free_chain(struct gc_link *g)
{
    while (g) {
        struct gc_link *next = g->next;
        mem_free(g);
        g = next;
    }
}

/* One batch of retired objects handed to call_rcu. */
struct gc_batch {
    struct rcu_head rcu;
    struct topic_tree *t;
    struct gc_link *list;
};

static void gc_batch_free(struct rcu_head *head)
{
    struct gc_batch *b = caa_container_of(head, struct gc_batch, rcu);
    TSAN_ACQUIRE(b);
    struct topic_tree *t = b->t;
    TSAN_ACQUIRE(&t->grace);
    free_chain(b->list);
    mem_free(b);
    pthread_mutex_lock(&t->gc_lock);
    if (--t->gc_pending == 0)
        pthread_cond_broadcast(&t->gc_idle);
    pthread_mutex_unlock(&t->gc_lock);
}

/* Frees the chain after a grace period: in liburcu's call_rcu thread, so the writer never
 * waits for readers; synchronously only when the batch record cannot be allocated. */
static void gc_submit(struct topic_tree *t, struct gc_link *g)
{
    struct gc_batch *b = mem_alloc(sizeof *b);
    if (!b) {
        urcu_bp_synchronize_rcu();
        TSAN_ACQUIRE(&t->grace);
        free_chain(g);
        return;
    }
    b->t = t;
    b->list = g;
    pthread_mutex_lock(&t->gc_lock);
    t->gc_pending++;
    pthread_mutex_unlock(&t->gc_lock);
    TSAN_RELEASE(b);
    urcu_bp_call_rcu(&b->rcu, gc_batch_free);
}

/* Unlocks the writer lock and submits retired objects once a batch has gathered. */
static void writer_done(struct topic_tree *t)
{
    struct gc_link *g = NULL;
    if (t->garbage_n >= GC_BATCH) {
        g = t->garbage;
        t->garbage = NULL;
        t->garbage_n = 0;
    }
    pthread_mutex_unlock(&t->lock);
    if (g)
        gc_submit(t, g);
}

void topic_tree_quiesce(struct topic_tree *t)
{
    urcu_bp_synchronize_rcu();
    TSAN_ACQUIRE(&t->grace);
}

void topic_tree_reclaim(struct topic_tree *t)
{
    pthread_mutex_lock(&t->lock);
    struct gc_link *g = t->garbage;
    t->garbage = NULL;
    t->garbage_n = 0;
    pthread_mutex_unlock(&t->lock);
    urcu_bp_synchronize_rcu();
    TSAN_ACQUIRE(&t->grace);
    free_chain(g);
    /* Batches already handed to call_rcu: wait for their callbacks (not rcu_barrier, whose
     * internal hand-off ThreadSanitizer cannot follow). */
    pthread_mutex_lock(&t->gc_lock);
    while (t->gc_pending)
        pthread_cond_wait(&t->gc_idle, &t->gc_lock);
    pthread_mutex_unlock(&t->gc_lock);
}

/* ---- Named children table ---- */

static struct tnode *kids_find(const struct kids *k, const void *key, size_t len, uint32_t h)
{
    uint32_t mask = k->cap - 1;
    uint32_t p = h & mask;
    for (uint32_t i = 0; i < k->cap; i++, p = (p + 1) & mask) {
        struct tnode *c = atomic_load_explicit(&k->slot[p], memory_order_acquire);
        if (!c)
            return NULL;
        if (c != TOMB && c->key_hash == h && c->key_len == len && memcmp(c->key, key, len) == 0)
            return c;
    }
    return NULL;
}

/* Puts c into the first free slot of its probe sequence (k has room). */
static void kids_place(struct kids *k, struct tnode *c)
{
    uint32_t mask = k->cap - 1;
    uint32_t p = c->key_hash & mask;
    for (;;) {
        struct tnode *s = atomic_load_explicit(&k->slot[p], memory_order_relaxed);
        if (!s || s == TOMB) {
            if (!s)
                k->used++;
            k->live++;
            atomic_store_explicit(&k->slot[p], c, memory_order_release);
            return;
        }
        p = (p + 1) & mask;
    }
}

static int kids_put(struct topic_tree *t, struct tnode *parent, struct tnode *c)
{
    struct kids *k = atomic_load_explicit(&parent->kids, memory_order_relaxed);
    if (!k || (k->used + 1) * 4 > k->cap * 3) {
        uint32_t live = k ? k->live : 0;
        uint32_t cap = 4;
        while ((live + 1) * 2 > cap)
            cap *= 2;
        struct kids *nk = mem_alloc(sizeof *nk + (size_t)cap * sizeof nk->slot[0]);
        if (!nk)
            return TERN_ENOMEM;
        nk->cap = cap;
        nk->used = 0;
        nk->live = 0;
        for (uint32_t i = 0; i < cap; i++)
            atomic_init(&nk->slot[i], NULL);
        for (uint32_t i = 0; k && i < k->cap; i++) {
            struct tnode *o = atomic_load_explicit(&k->slot[i], memory_order_relaxed);
            if (o && o != TOMB)
                kids_place(nk, o);
        }
        atomic_store_explicit(&parent->kids, nk, memory_order_release);
        if (k)
            retire(t, &k->gc);
        k = nk;
    }
    kids_place(k, c);
    return 0;
}

static void kids_del(struct topic_tree *t, struct tnode *parent, const struct tnode *c)
{
    struct kids *k = atomic_load_explicit(&parent->kids, memory_order_relaxed);
    for (uint32_t i = 0; i < k->cap; i++) {
        if (atomic_load_explicit(&k->slot[i], memory_order_relaxed) == c) {
            atomic_store_explicit(&k->slot[i], TOMB, memory_order_release);
            k->live--;
            break;
        }
    }
    if (k->live == 0) {
        atomic_store_explicit(&parent->kids, NULL, memory_order_release);
        retire(t, &k->gc);
    }
}

/* ---- Nodes ---- */

static bool is_wild(const void *key, size_t len, char w)
{
    return len == 1 && *(const char *)key == w;
}

/* The child of n for one filter level ('+' and '#' are the wildcard slots). Reader-safe. */
static struct tnode *child_get(const struct tnode *n, const void *key, size_t len)
{
    if (is_wild(key, len, '+'))
        return atomic_load_explicit(&n->plus, memory_order_acquire);
    if (is_wild(key, len, '#'))
        return atomic_load_explicit(&n->hash, memory_order_acquire);
    const struct kids *k = atomic_load_explicit(&n->kids, memory_order_acquire);
    return k ? kids_find(k, key, len, hash_level(key, len)) : NULL;
}

static struct tnode *node_new(struct tnode *parent, const void *key, size_t len)
{
    struct tnode *n = mem_alloc(sizeof *n + len + 1);
    if (!n)
        return NULL;
    n->gc.next = NULL;
    n->parent = parent;
    atomic_init(&n->kids, NULL);
    atomic_init(&n->plus, NULL);
    atomic_init(&n->hash, NULL);
    atomic_init(&n->subs, NULL);
    atomic_init(&n->groups, NULL);
    n->key_hash = hash_level(key, len);
    n->kind = is_wild(key, len, '+') ? KIND_PLUS : is_wild(key, len, '#') ? KIND_HASH : KIND_NAMED;
    n->key_len = len;
    if (len)
        memcpy(n->key, key, len);
    n->key[len] = '\0';
    return n;
}

static bool node_empty(const struct tnode *n)
{
    return n->kind != KIND_ROOT && !atomic_load_explicit(&n->kids, memory_order_relaxed) &&
           !atomic_load_explicit(&n->plus, memory_order_relaxed) &&
           !atomic_load_explicit(&n->hash, memory_order_relaxed) &&
           !atomic_load_explicit(&n->subs, memory_order_relaxed) &&
           !atomic_load_explicit(&n->groups, memory_order_relaxed);
}

/* Unlinks and retires n and then every ancestor left empty. */
static void prune(struct topic_tree *t, struct tnode *n)
{
    while (node_empty(n)) {
        struct tnode *p = n->parent;
        if (n->kind == KIND_PLUS)
            atomic_store_explicit(&p->plus, NULL, memory_order_release);
        else if (n->kind == KIND_HASH)
            atomic_store_explicit(&p->hash, NULL, memory_order_release);
        else
            kids_del(t, p, n);
        retire(t, &n->gc);
        n = p;
    }
}

static int node_link(struct topic_tree *t, struct tnode *p, struct tnode *c)
{
    if (c->kind == KIND_PLUS)
        atomic_store_explicit(&p->plus, c, memory_order_release);
    else if (c->kind == KIND_HASH)
        atomic_store_explicit(&p->hash, c, memory_order_release);
    else
        return kids_put(t, p, c);
    return 0;
}

/* The node of filter (non-shared form); creates missing levels when create is set. NULL when
 * absent, or on OOM (then nothing new is left in the tree). Writer only when create is set. */
static struct tnode *path_get(struct topic_tree *t, struct tern_bytes filter, bool create)
{
    struct tnode *n = t->root;
    size_t pos = 0;
    while (pos <= filter.len) {
        size_t end = level_end(filter, pos);
        const uint8_t *key = filter.ptr + pos;
        struct tnode *c = child_get(n, key, end - pos);
        if (!c && create) {
            c = node_new(n, key, end - pos);
            if (c && node_link(t, n, c) < 0) {
                mem_free(c);
                c = NULL;
            }
            if (!c)
                prune(t, n);
        }
        if (!c)
            return NULL;
        n = c;
        pos = end + 1;
    }
    return n;
}

/* ---- Writer index: (node, subscriber) -> sub ---- */

static size_t index_home(const struct topic_tree *t, const struct tnode *n, const void *s)
{
    return (size_t)mix64((uintptr_t)n ^ mix64((uintptr_t)s)) & (t->index_cap - 1);
}

static struct sub **index_slot(struct topic_tree *t, const struct tnode *n, const void *s)
{
    if (!t->index_cap)
        return NULL;
    size_t mask = t->index_cap - 1;
    for (size_t p = index_home(t, n, s);; p = (p + 1) & mask) {
        struct sub *e = t->index[p];
        if (!e)
            return NULL;
        if (e != INDEX_TOMB && e->node == n && e->subscriber == s)
            return &t->index[p];
    }
}

static void index_place(struct topic_tree *t, struct sub *s)
{
    size_t mask = t->index_cap - 1;
    size_t p = index_home(t, s->node, s->subscriber);
    while (t->index[p] && t->index[p] != INDEX_TOMB)
        p = (p + 1) & mask;
    if (!t->index[p])
        t->index_used++;
    t->index_live++;
    t->index[p] = s;
}

/* Makes room for one more entry (rebuilding when too full). */
static int index_reserve(struct topic_tree *t)
{
    if (t->index_cap && (t->index_used + 1) * 4 <= t->index_cap * 3)
        return 0;
    size_t cap = 16;
    while ((t->index_live + 1) * 2 > cap)
        cap *= 2;
    struct sub **old = t->index;
    size_t old_cap = t->index_cap;
    t->index = mem_calloc(cap, sizeof *t->index);
    if (!t->index) {
        t->index = old;
        return TERN_ENOMEM;
    }
    t->index_cap = cap;
    t->index_used = 0;
    t->index_live = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] && old[i] != INDEX_TOMB)
            index_place(t, old[i]);
    mem_free(old);
    return 0;
}

/* ---- Subscriptions ---- */

static int add_plain(struct topic_tree *t, struct tnode *n, void *subscriber, uint64_t opts)
{
    struct sub **slot = index_slot(t, n, subscriber);
    if (slot) {
        atomic_store_explicit(&(*slot)->opts, opts, memory_order_relaxed);
        return 0;
    }
    if (index_reserve(t) < 0)
        return TERN_ENOMEM;
    struct sub *s = mem_alloc(sizeof *s);
    if (!s)
        return TERN_ENOMEM;
    struct sub *head = atomic_load_explicit(&n->subs, memory_order_relaxed);
    s->gc.next = NULL;
    atomic_init(&s->next, head);
    s->prev = NULL;
    s->node = n;
    s->subscriber = subscriber;
    atomic_init(&s->opts, opts);
    if (head)
        head->prev = s;
    atomic_store_explicit(&n->subs, s, memory_order_release);
    index_place(t, s);
    atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
    return 1;
}

static int remove_plain(struct topic_tree *t, struct tnode *n, void *subscriber)
{
    struct sub **slot = index_slot(t, n, subscriber);
    if (!slot)
        return TERN_ENOTFOUND;
    struct sub *s = *slot;
    struct sub *next = atomic_load_explicit(&s->next, memory_order_relaxed);
    /* Readers standing on s still follow s->next, which stays intact until s is freed. */
    if (s->prev)
        atomic_store_explicit(&s->prev->next, next, memory_order_release);
    else
        atomic_store_explicit(&n->subs, next, memory_order_release);
    if (next)
        next->prev = s->prev;
    *slot = INDEX_TOMB;
    t->index_live--;
    retire(t, &s->gc);
    atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
    return 0;
}

static struct group *group_find(const struct tnode *n, struct tern_bytes name)
{
    struct group *g = atomic_load_explicit(&n->groups, memory_order_acquire);
    for (; g; g = atomic_load_explicit(&g->next, memory_order_acquire))
        if (g->name_len == name.len && memcmp(g->name, name.ptr, name.len) == 0)
            return g;
    return NULL;
}

static struct members *members_new(uint32_t n)
{
    struct members *m = mem_alloc(sizeof *m + (size_t)n * sizeof m->m[0]);
    if (m) {
        m->gc.next = NULL;
        m->n = n;
    }
    return m;
}

static long member_index(const struct members *m, const void *subscriber)
{
    for (uint32_t i = 0; m && i < m->n; i++)
        if (m->m[i].subscriber == subscriber)
            return (long)i;
    return -1;
}

static struct group *group_new(struct tern_bytes name)
{
    struct group *g = mem_alloc(sizeof *g + name.len + 1);
    if (!g)
        return NULL;
    g->gc.next = NULL;
    atomic_init(&g->next, NULL);
    g->prev = NULL;
    atomic_init(&g->members, NULL);
    atomic_init(&g->rr, 0);
    g->name_len = name.len;
    memcpy(g->name, name.ptr, name.len);
    g->name[name.len] = '\0';
    return g;
}

static void group_link(struct tnode *n, struct group *g)
{
    struct group *head = atomic_load_explicit(&n->groups, memory_order_relaxed);
    atomic_init(&g->next, head);
    if (head)
        head->prev = g;
    atomic_store_explicit(&n->groups, g, memory_order_release);
}

static int add_shared(struct topic_tree *t, struct tnode *n, struct tern_bytes name,
                      void *subscriber, uint64_t opts)
{
    struct group *g = group_find(n, name);
    bool created = !g;
    if (created && !(g = group_new(name)))
        return TERN_ENOMEM;
    struct members *old = atomic_load_explicit(&g->members, memory_order_relaxed);
    uint32_t on = old ? old->n : 0;
    long at = member_index(old, subscriber);
    struct members *nm = members_new(at >= 0 ? on : on + 1);
    if (!nm) {
        if (created)
            mem_free(g);
        return TERN_ENOMEM;
    }
    if (on)
        memcpy(nm->m, old->m, on * sizeof old->m[0]);
    uint32_t i = at >= 0 ? (uint32_t)at : on;
    nm->m[i].subscriber = subscriber;
    nm->m[i].opts = opts;
    atomic_store_explicit(&g->members, nm, memory_order_release);
    if (created)
        group_link(n, g);
    if (old)
        retire(t, &old->gc);
    if (at >= 0)
        return 0;
    atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
    return 1;
}

static void group_unlink(struct topic_tree *t, struct tnode *n, struct group *g)
{
    struct group *next = atomic_load_explicit(&g->next, memory_order_relaxed);
    if (g->prev)
        atomic_store_explicit(&g->prev->next, next, memory_order_release);
    else
        atomic_store_explicit(&n->groups, next, memory_order_release);
    if (next)
        next->prev = g->prev;
    retire(t, &g->gc);
}

static int remove_shared(struct topic_tree *t, struct tnode *n, struct tern_bytes name,
                         void *subscriber)
{
    struct group *g = group_find(n, name);
    if (!g)
        return TERN_ENOTFOUND;
    struct members *old = atomic_load_explicit(&g->members, memory_order_relaxed);
    long at = member_index(old, subscriber);
    if (at < 0)
        return TERN_ENOTFOUND;
    if (old->n == 1) {
        group_unlink(t, n, g);
    } else {
        struct members *nm = members_new(old->n - 1);
        if (!nm)
            return TERN_ENOMEM;
        memcpy(nm->m, old->m, (size_t)at * sizeof old->m[0]);
        memcpy(nm->m + at, old->m + at + 1, (old->n - (size_t)at - 1) * sizeof old->m[0]);
        atomic_store_explicit(&g->members, nm, memory_order_release);
    }
    retire(t, &old->gc);
    atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
    return 0;
}

/* ---- Public API ---- */

struct topic_tree *topic_tree_new(void)
{
    struct topic_tree *t = mem_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->root = node_new(NULL, "", 0);
    if (!t->root)
        goto fail;
    t->root->kind = KIND_ROOT;
    if (pthread_mutex_init(&t->lock, NULL) != 0)
        goto fail;
    if (pthread_mutex_init(&t->gc_lock, NULL) != 0)
        goto fail_lock;
    if (pthread_cond_init(&t->gc_idle, NULL) != 0)
        goto fail_gc_lock;
    atomic_init(&t->count, 0);
    return t;
fail_gc_lock:
    pthread_mutex_destroy(&t->gc_lock);
fail_lock:
    pthread_mutex_destroy(&t->lock);
fail:
    mem_free(t->root);
    mem_free(t);
    return NULL;
}

static void node_free_all(struct tnode *n)
{
    struct kids *k = atomic_load_explicit(&n->kids, memory_order_relaxed);
    for (uint32_t i = 0; k && i < k->cap; i++) {
        struct tnode *c = atomic_load_explicit(&k->slot[i], memory_order_relaxed);
        if (c && c != TOMB)
            node_free_all(c);
    }
    mem_free(k);
    struct tnode *w = atomic_load_explicit(&n->plus, memory_order_relaxed);
    if (w)
        node_free_all(w);
    w = atomic_load_explicit(&n->hash, memory_order_relaxed);
    if (w)
        node_free_all(w);
    struct sub *s = atomic_load_explicit(&n->subs, memory_order_relaxed);
    while (s) {
        struct sub *next = atomic_load_explicit(&s->next, memory_order_relaxed);
        mem_free(s);
        s = next;
    }
    struct group *g = atomic_load_explicit(&n->groups, memory_order_relaxed);
    while (g) {
        struct group *next = atomic_load_explicit(&g->next, memory_order_relaxed);
        mem_free(atomic_load_explicit(&g->members, memory_order_relaxed));
        mem_free(g);
        g = next;
    }
    mem_free(n);
}

void topic_tree_free(struct topic_tree *t)
{
    if (!t)
        return;
    topic_tree_reclaim(t);
    node_free_all(t->root);
    mem_free(t->index);
    pthread_cond_destroy(&t->gc_idle);
    pthread_mutex_destroy(&t->gc_lock);
    pthread_mutex_destroy(&t->lock);
    mem_free(t);
}

int topic_tree_add(struct topic_tree *t, struct tern_bytes filter, void *subscriber,
                   uint8_t options, uint32_t sub_id)
{
    struct tern_bytes group = {0};
    struct tern_bytes rest = filter;
    bool shared = codec_topic_shared_split(filter, &group, &rest);
    uint64_t opts = (uint64_t)options << 32 | sub_id;
    int rc = TERN_ENOMEM;
    pthread_mutex_lock(&t->lock);
    struct tnode *n = path_get(t, rest, true);
    if (n) {
        rc = shared ? add_shared(t, n, group, subscriber, opts) : add_plain(t, n, subscriber, opts);
        if (rc < 0)
            prune(t, n);
    }
    writer_done(t);
    return rc;
}

int topic_tree_remove(struct topic_tree *t, struct tern_bytes filter, void *subscriber)
{
    struct tern_bytes group = {0};
    struct tern_bytes rest = filter;
    bool shared = codec_topic_shared_split(filter, &group, &rest);
    int rc = TERN_ENOTFOUND;
    pthread_mutex_lock(&t->lock);
    struct tnode *n = path_get(t, rest, false);
    if (n) {
        rc = shared ? remove_shared(t, n, group, subscriber) : remove_plain(t, n, subscriber);
        if (rc == 0)
            prune(t, n);
    }
    writer_done(t);
    return rc;
}

struct match_ctx {
    struct tern_bytes topic;
    topic_match_fn fn;
    void *ctx;
};

static void report(const struct tnode *n, const struct match_ctx *mc)
{
    const struct sub *s = atomic_load_explicit(&n->subs, memory_order_acquire);
    for (; s; s = atomic_load_explicit(&s->next, memory_order_acquire)) {
        uint64_t o = atomic_load_explicit(&s->opts, memory_order_relaxed);
        mc->fn(s->subscriber, (uint8_t)(o >> 32), (uint32_t)o, false, mc->ctx);
    }
    struct group *g = atomic_load_explicit(&n->groups, memory_order_acquire);
    for (; g; g = atomic_load_explicit(&g->next, memory_order_acquire)) {
        const struct members *m = atomic_load_explicit(&g->members, memory_order_acquire);
        uint32_t i = atomic_fetch_add_explicit(&g->rr, 1, memory_order_relaxed) % m->n;
        mc->fn(m->m[i].subscriber, (uint8_t)(m->m[i].opts >> 32), (uint32_t)m->m[i].opts, true,
               mc->ctx);
    }
}

/* Matches the topic levels from pos (topic.len + 1 once every level is consumed) below n.
 * Named levels are followed in a loop; only '+' branches recurse. */
static void match_from(const struct tnode *n, size_t pos, const struct match_ctx *mc)
{
    for (;;) {
        if (pos > mc->topic.len) {
            report(n, mc);
            /* "sport/#" also matches "sport": '#' includes the parent level [MQTT-4.7.1-2]. */
            const struct tnode *h = atomic_load_explicit(&n->hash, memory_order_acquire);
            if (h)
                report(h, mc);
            return;
        }
        size_t end = level_end(mc->topic, pos);
        /* A filter starting with a wildcard does not match a topic starting with '$'
         * [MQTT-4.7.2-1]. */
        if (!(n->kind == KIND_ROOT && mc->topic.ptr[0] == '$')) {
            const struct tnode *w = atomic_load_explicit(&n->hash, memory_order_acquire);
            if (w)
                report(w, mc);
            w = atomic_load_explicit(&n->plus, memory_order_acquire);
            if (w)
                match_from(w, end + 1, mc);
        }
        const struct kids *k = atomic_load_explicit(&n->kids, memory_order_acquire);
        const uint8_t *key = mc->topic.ptr + pos;
        n = k ? kids_find(k, key, end - pos, hash_level(key, end - pos)) : NULL;
        if (!n)
            return;
        pos = end + 1;
    }
}

void topic_tree_match(struct topic_tree *t, struct tern_bytes topic, topic_match_fn fn, void *ctx)
{
    struct match_ctx mc = {topic, fn, ctx};
    if (topic.len == 0)
        return;
    urcu_bp_read_lock();
    match_from(t->root, 0, &mc);
    TSAN_RELEASE(&t->grace);
    urcu_bp_read_unlock();
}

void *topic_tree_shared_pick(struct topic_tree *t, struct tern_bytes group,
                             struct tern_bytes filter, const void *except)
{
    return topic_tree_shared_take(t, group, filter, except, NULL);
}

void *topic_tree_shared_take(struct topic_tree *t, struct tern_bytes group,
                             struct tern_bytes filter, const void *except,
                             void *(*take)(void *subscriber))
{
    uint8_t options;
    uint32_t sub_id;
    return topic_tree_shared_take_opts(t, group, filter, except, take, &options, &sub_id);
}

void *topic_tree_shared_take_opts(struct topic_tree *t, struct tern_bytes group,
                                  struct tern_bytes filter, const void *except,
                                  void *(*take)(void *subscriber), uint8_t *options,
                                  uint32_t *sub_id)
{
    void *found = NULL;
    urcu_bp_read_lock();
    const struct tnode *n = path_get(t, filter, false);
    struct group *g = n ? group_find(n, group) : NULL;
    const struct members *m = g ? atomic_load_explicit(&g->members, memory_order_acquire) : NULL;
    if (m) {
        uint32_t start = atomic_fetch_add_explicit(&g->rr, 1, memory_order_relaxed);
        for (uint32_t i = 0; i < m->n && !found; i++) {
            const struct member *x = &m->m[(start + i) % m->n];
            if (x->subscriber != except) {
                found = x->subscriber;
                *options = (uint8_t)(x->opts >> 32);
                *sub_id = (uint32_t)x->opts;
            }
        }
        if (found && take)
            found = take(found); /* still inside the read-side section */
    }
    TSAN_RELEASE(&t->grace);
    urcu_bp_read_unlock();
    return found;
}

struct walk_ctx {
    topic_walk_fn fn;
    void *ctx;
    char *path; /* the filter of the node being visited, TOPIC_MAX + 2 bytes */
};

#define TOPIC_MAX 65535u

static void walk_report(const struct tnode *n, size_t len, const struct walk_ctx *wc)
{
    struct tern_bytes filter = bytes_of(wc->path, len), none = bytes_of(NULL, 0);
    const struct sub *s = atomic_load_explicit(&n->subs, memory_order_acquire);
    for (; s; s = atomic_load_explicit(&s->next, memory_order_acquire)) {
        uint64_t o = atomic_load_explicit(&s->opts, memory_order_relaxed);
        wc->fn(s->subscriber, filter, none, (uint8_t)(o >> 32), (uint32_t)o, wc->ctx);
    }
    const struct group *g = atomic_load_explicit(&n->groups, memory_order_acquire);
    for (; g; g = atomic_load_explicit(&g->next, memory_order_acquire)) {
        const struct members *m = atomic_load_explicit(&g->members, memory_order_acquire);
        for (uint32_t i = 0; i < m->n; i++)
            wc->fn(m->m[i].subscriber, filter, bytes_of(g->name, g->name_len),
                   (uint8_t)(m->m[i].opts >> 32), (uint32_t)m->m[i].opts, wc->ctx);
    }
}

/* Visits n (whose filter is path[0..len)) and everything below it. */
static void walk_from(const struct tnode *n, size_t len, const struct walk_ctx *wc)
{
    walk_report(n, len, wc);
    const struct tnode *c[2] = {atomic_load_explicit(&n->plus, memory_order_acquire),
                                atomic_load_explicit(&n->hash, memory_order_acquire)};
    const struct kids *k = atomic_load_explicit(&n->kids, memory_order_acquire);
    size_t n_slots = k ? k->cap : 0;
    for (size_t i = 0; i < 2 + n_slots; i++) {
        const struct tnode *x =
            i < 2 ? c[i] : atomic_load_explicit(&k->slot[i - 2], memory_order_acquire);
        if (!x || x == TOMB)
            continue;
        const char *key = x->kind == KIND_PLUS ? "+" : x->kind == KIND_HASH ? "#" : x->key;
        size_t key_len = x->kind == KIND_NAMED ? x->key_len : 1;
        size_t sep = n->kind == KIND_ROOT ? 0 : 1;
        if (len + sep + key_len > TOPIC_MAX)
            continue; /* not a valid filter: cannot be subscribed */
        if (sep)
            wc->path[len] = '/';
        memcpy(wc->path + len + sep, key, key_len);
        walk_from(x, len + sep + key_len, wc);
    }
}

int topic_tree_walk(struct topic_tree *t, topic_walk_fn fn, void *ctx)
{
    struct walk_ctx wc = {fn, ctx, mem_alloc(TOPIC_MAX + 2)};
    if (!wc.path)
        return TERN_ENOMEM;
    urcu_bp_read_lock();
    walk_from(t->root, 0, &wc);
    TSAN_RELEASE(&t->grace);
    urcu_bp_read_unlock();
    mem_free(wc.path);
    return 0;
}

size_t topic_tree_count(struct topic_tree *t)
{
    return atomic_load_explicit(&t->count, memory_order_relaxed);
}
