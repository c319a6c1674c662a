/* Session bookkeeping: growable arrays for subscriptions, the in-flight window and inbound
 * QoS 2 ids, and a ring buffer for the queue. Windows are small (Receive Maximum, default 20),
 * so lookups are linear scans over contiguous memory. */
#include "session.h"

#include <string.h>

#include "mem.h"
#include "msg.h"

struct session *session_new(const char *client_id, size_t len, uint64_t id)
{
    struct session *s = mem_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->client_id = mem_strndup(client_id, len);
    if (!s->client_id) {
        mem_free(s);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    atomic_init(&s->owner, NULL);
    s->id = id;
    s->next_packet_id = 1;
    return s;
}

struct session *session_ref(struct session *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void session_unref(struct session *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    session_subs_clear(s);
    mem_free(s->subs);
    while (s->n_left)
        session_left_remove(s, s->n_left - 1);
    mem_free(s->left);
    while (s->n_inflight)
        session_inflight_remove(s, &s->inflight[s->n_inflight - 1]);
    mem_free(s->inflight);
    session_queue_clear(s);
    mem_free(s->queue);
    mem_free(s->qos2_in);
    msg_unref(s->will);
    mem_free(s->username);
    session_set_read_filters(s, false, NULL, 0);
    mem_free(s->client_id);
    mem_free(s);
}

void delivery_clear(struct delivery *d)
{
    msg_unref(d->m);
    if (d->n_sub_ids > 1)
        mem_free(d->sub_ids);
    memset(d, 0, sizeof *d);
}

/* Grows an array of elem-sized items so that one more fits. */
static int grow(void **arr, uint32_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    if (*cap > UINT32_MAX / 2)
        return TERN_ENOMEM;
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *p = mem_realloc(*arr, ncap * elem);
    if (!p)
        return TERN_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

#define SUB_INDEX_MIN 16

static size_t filter_hash(const char *f, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)f[i];
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static void index_put(struct session *s, size_t i)
{
    size_t mask = s->sub_index_cap - 1;
    size_t k = filter_hash(s->subs[i].filter, s->subs[i].filter_len) & mask;
    while (s->sub_index[k])
        k = (k + 1) & mask;
    s->sub_index[k] = (uint32_t)(i + 1);
}

/* (Re)builds the index with room for twice the subscriptions; without it (OOM) lookups scan. */
static void index_rebuild(struct session *s)
{
    mem_free(s->sub_index);
    s->sub_index = NULL;
    s->sub_index_cap = 0;
    if (s->n_subs <= SUB_INDEX_MIN)
        return;
    size_t cap = 64;
    while (cap < s->n_subs * 2)
        cap *= 2;
    s->sub_index = mem_calloc(cap, sizeof *s->sub_index);
    if (!s->sub_index)
        return;
    s->sub_index_cap = cap;
    for (size_t i = 0; i < s->n_subs; i++)
        index_put(s, i);
}

static struct subscription *sub_find(struct session *s, const char *filter, size_t len)
{
    if (s->sub_index) {
        size_t mask = s->sub_index_cap - 1;
        for (size_t k = filter_hash(filter, len) & mask; s->sub_index[k]; k = (k + 1) & mask) {
            struct subscription *x = &s->subs[s->sub_index[k] - 1];
            if (x->filter_len == len && memcmp(x->filter, filter, len) == 0)
                return x;
        }
        return NULL;
    }
    for (size_t i = 0; i < s->n_subs; i++) {
        struct subscription *x = &s->subs[i];
        if (x->filter_len == len && memcmp(x->filter, filter, len) == 0)
            return x;
    }
    return NULL;
}

struct subscription *session_sub_get(struct session *s, const char *filter, size_t len)
{
    return sub_find(s, filter, len);
}

int session_sub_set(struct session *s, const char *filter, size_t len, uint8_t options,
                    uint32_t sub_id)
{
    struct subscription *x = sub_find(s, filter, len);
    if (x) {
        x->options = options;
        x->sub_id = sub_id;
        return 0;
    }
    if (len > UINT16_MAX)
        return TERN_ETOOBIG;
    if (grow((void **)&s->subs, &s->cap_subs, s->n_subs, sizeof *x))
        return TERN_ENOMEM;
    char *copy = mem_strndup(filter, len);
    if (!copy)
        return TERN_ENOMEM;
    x = &s->subs[s->n_subs++];
    x->filter = copy;
    x->filter_len = (uint16_t)len;
    x->options = options;
    x->sub_id = sub_id;
    if (s->n_subs > SUB_INDEX_MIN) {
        if (s->n_subs * 2 > s->sub_index_cap)
            index_rebuild(s);
        else
            index_put(s, s->n_subs - 1);
    }
    return 1;
}

int session_sub_detach(struct session *s, const char *filter, size_t len, struct subscription *out)
{
    struct subscription *x = sub_find(s, filter, len);
    if (!x)
        return TERN_ENOTFOUND;
    *out = *x;
    *x = s->subs[--s->n_subs];
    if (s->sub_index)
        index_rebuild(s); /* removal is rarer than adding: a rebuild keeps probing simple */
    return 0;
}

int session_sub_remove(struct session *s, const char *filter, size_t len)
{
    struct subscription gone;
    int rc = session_sub_detach(s, filter, len, &gone);
    if (rc == 0)
        mem_free(gone.filter);
    return rc;
}

void session_left_keep(struct session *s, struct subscription *x)
{
    for (uint32_t i = 0; i < s->n_left; i++) {
        if (s->left[i].filter_len == x->filter_len &&
            memcmp(s->left[i].filter, x->filter, x->filter_len) == 0) {
            mem_free(x->filter);
            return;
        }
    }
    struct subscription *p = mem_realloc(s->left, (s->n_left + 1) * sizeof *p);
    if (!p) {
        mem_free(x->filter); /* those messages are dropped if the session ends first */
        return;
    }
    s->left = p;
    s->left[s->n_left++] = *x;
}

void session_left_remove(struct session *s, uint32_t i)
{
    mem_free(s->left[i].filter);
    s->left[i] = s->left[--s->n_left];
}

void session_subs_clear(struct session *s)
{
    for (size_t i = 0; i < s->n_subs; i++)
        mem_free(s->subs[i].filter);
    s->n_subs = 0;
    index_rebuild(s);
}

uint16_t session_next_packet_id(struct session *s)
{
    if (s->n_inflight >= 65535)
        return 0; /* every id is in flight */
    for (;;) {
        uint16_t id = s->next_packet_id++;
        if (s->next_packet_id == 0)
            s->next_packet_id = 1;
        if (id != 0 && !session_inflight_find(s, id))
            return id;
    }
}

int session_inflight_add(struct session *s, uint16_t packet_id, uint8_t state, struct delivery *d)
{
    if (grow((void **)&s->inflight, &s->cap_inflight, s->n_inflight, sizeof(struct inflight)))
        return TERN_ENOMEM;
    struct inflight *f = &s->inflight[s->n_inflight++];
    f->packet_id = packet_id;
    f->state = state;
    f->d = *d;
    s->inflight_bytes += d->m ? d->m->payload_len : 0;
    memset(d, 0, sizeof *d);
    return 0;
}

struct inflight *session_inflight_find(struct session *s, uint16_t packet_id)
{
    for (size_t i = 0; i < s->n_inflight; i++)
        if (s->inflight[i].packet_id == packet_id)
            return &s->inflight[i];
    return NULL;
}

void session_inflight_remove(struct session *s, struct inflight *f)
{
    size_t i = (size_t)(f - s->inflight);
    /* A redistributed entry has lost its message: its bytes are counted out below zero never. */
    uint64_t len = f->d.m ? f->d.m->payload_len : 0;
    s->inflight_bytes -= len < s->inflight_bytes ? len : s->inflight_bytes;
    delivery_clear(&f->d);
    /* Keep send order: retransmission after reconnect must follow it [MQTT-4.6.0-1]. */
    memmove(&s->inflight[i], &s->inflight[i + 1], (s->n_inflight - i - 1) * sizeof *f);
    s->n_inflight--;
}

int session_queue_push(struct session *s, struct delivery *d, uint32_t max_msgs, uint64_t max_bytes)
{
    uint64_t cost = d->m->payload_len; /* payload bytes, as Mosquitto counts max_queued_bytes */
    if ((max_msgs && s->q_len >= max_msgs) || (max_bytes && s->q_bytes + cost > max_bytes))
        return TERN_EFULL;
    if (s->q_len == s->q_cap) {
        if (s->q_cap > UINT32_MAX / 2)
            return TERN_ENOMEM;
        uint32_t ncap = s->q_cap ? s->q_cap * 2 : 8;
        struct delivery *q = mem_alloc(ncap * sizeof *q);
        if (!q)
            return TERN_ENOMEM;
        for (size_t i = 0; i < s->q_len; i++)
            q[i] = *session_queue_at(s, i);
        mem_free(s->queue);
        s->queue = q;
        s->q_cap = ncap;
        s->q_head = 0;
    }
    *session_queue_at(s, s->q_len) = *d;
    s->q_len++;
    s->q_bytes += cost;
    memset(d, 0, sizeof *d);
    return 0;
}

bool session_queue_pop(struct session *s, struct delivery *d)
{
    if (!s->q_len)
        return false;
    *d = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) & (s->q_cap - 1);
    s->q_len--;
    s->q_bytes -= d->m->payload_len;
    return true;
}

void session_queue_clear(struct session *s)
{
    struct delivery d;
    while (session_queue_pop(s, &d))
        delivery_clear(&d);
}

bool session_qos2_has(const struct session *s, uint16_t packet_id)
{
    for (size_t i = 0; i < s->n_qos2_in; i++)
        if (s->qos2_in[i] == packet_id)
            return true;
    return false;
}

int session_qos2_add(struct session *s, uint16_t packet_id)
{
    if (grow((void **)&s->qos2_in, &s->cap_qos2_in, s->n_qos2_in, sizeof(uint16_t)))
        return TERN_ENOMEM;
    s->qos2_in[s->n_qos2_in++] = packet_id;
    return 0;
}

bool session_qos2_remove(struct session *s, uint16_t packet_id)
{
    for (size_t i = 0; i < s->n_qos2_in; i++) {
        if (s->qos2_in[i] == packet_id) {
            s->qos2_in[i] = s->qos2_in[--s->n_qos2_in];
            return true;
        }
    }
    return false;
}

void session_set_will(struct session *s, struct msg *will, uint32_t delay_s)
{
    msg_unref(s->will);
    s->will = will;
    s->will_delay_s = delay_s;
}

int session_set_read_filters(struct session *s, bool claims, char *const *filters, size_t n)
{
    for (size_t i = 0; i < s->n_read_filters; i++)
        mem_free(s->read_filters[i]);
    mem_free(s->read_filters);
    s->read_filters = NULL;
    s->n_read_filters = 0;
    s->claims = claims;
    if (!claims || n == 0)
        return 0;
    s->read_filters = mem_calloc(n, sizeof *s->read_filters);
    if (!s->read_filters)
        return TERN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        s->read_filters[i] = mem_strdup(filters[i]);
        if (!s->read_filters[i])
            return TERN_ENOMEM; /* the ones copied so far stay: fewer grants, never more */
        s->n_read_filters++;
    }
    return 0;
}
