/* libtern automatic reconnect: after an accepted connection is lost by error, schedules new
 * connection attempts with exponential backoff (optional jitter) and performs them from
 * tern_client_tick(). It keeps only timing state; the connection itself is client.c's, and
 * re-subscribing is the application's (it sees session_present in on_connack). */
#include <string.h>

#include "client_impl.h"
#include "err.h"

#define DEFAULT_MIN_MS 1000u
#define DEFAULT_MAX_MS 60000u

void client_reconnect_setup(struct tern_client *c, const struct tern_reconnect_options *o)
{
    struct client_reconnect *r = &c->rc;
    uint64_t seed = r->seed;
    memset(r, 0, sizeof *r);
    /* Any changing value will do: the jitter only has to differ between clients. */
    r->seed = (seed ^ (uint64_t)(uintptr_t)c ^ (c->now_ms << 20)) | 1;
    if (!o)
        return;
    r->enabled = true;
    r->jitter = o->jitter;
    r->min_ms = o->min_delay_ms ? o->min_delay_ms : DEFAULT_MIN_MS;
    r->max_ms = o->max_delay_ms ? o->max_delay_ms : DEFAULT_MAX_MS;
    if (r->max_ms < r->min_ms)
        r->max_ms = r->min_ms;
}

void client_reconnect_connected(struct tern_client *c)
{
    c->rc.armed = c->rc.enabled;
    c->rc.delay_ms = 0;
}

/* xorshift64: a small PRNG for the jitter; not for anything secret. */
static uint64_t next_random(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

void client_reconnect_on_close(struct tern_client *c, int err, uint8_t reason)
{
    struct client_reconnect *r = &c->rc;
    r->pending = false;
    /* Our own DISCONNECT (err 0) and a refused CONNACK are final; after "Session taken over"
     * another client owns the session, and reconnecting would take it back in turn. */
    if (!r->armed || c->custom_io || err == 0 || err == TERN_EDENIED ||
        reason == MQTT_RC_SESSION_TAKEN_OVER)
        return;
    uint64_t d = r->delay_ms ? (uint64_t)r->delay_ms * 2 : r->min_ms;
    if (d > r->max_ms)
        d = r->max_ms;
    r->delay_ms = (uint32_t)d;
    if (r->jitter)
        d = d / 2 + next_random(&r->seed) % (d - d / 2 + 1);
    r->at_ms = c->now_ms + d;
    r->pending = true;
}

int client_reconnect_tick(struct tern_client *c, uint64_t now_ms)
{
    struct client_reconnect *r = &c->rc;
    if (!r->pending || c->state != CS_IDLE || now_ms < r->at_ms)
        return 0;
    r->pending = false;
    int rc = client_open_socket(c, now_ms);
    if (rc) {
        /* The attempt failed before any socket was open (name lookup, no route): count it
         * like a refused connection and try again later. */
        c->last_err = rc;
        client_reconnect_on_close(c, rc, 0);
    }
    return 0;
}

int64_t client_reconnect_timeout_ms(const struct tern_client *c, uint64_t now_ms)
{
    if (!c->rc.pending)
        return -1;
    return c->rc.at_ms > now_ms ? (int64_t)(c->rc.at_ms - now_ms) : 0;
}
