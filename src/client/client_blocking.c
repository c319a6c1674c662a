/* libtern's blocking convenience API: poll() loops that drive the asynchronous core until a
 * condition holds (CONNACK, a publish completed, the socket closed) or a timeout passes.
 * It adds no state of its own besides the stop flag; not for use with custom transports. */
#include <errno.h>
#include <poll.h>

#include "client_impl.h"
#include "clock.h"
#include "err.h"

/* Waits without a socket until a scheduled reconnect is due (or timeout_ms), then ticks. */
static int wait_reconnect(struct tern_client *c, int timeout_ms)
{
    uint64_t now = clock_mono_ms();
    int64_t wait = client_reconnect_timeout_ms(c, now);
    if (timeout_ms >= 0 && timeout_ms < wait)
        wait = timeout_ms;
    if (wait > 0 && poll(NULL, 0, (int)wait) < 0 && errno != EINTR)
        return TERN_ESYS;
    return tern_client_tick(c, clock_mono_ms());
}

int tern_client_run_once(struct tern_client *c, int timeout_ms)
{
    if (c && c->state == CS_IDLE && c->rc.pending && !c->custom_io)
        return wait_reconnect(c, timeout_ms);
    if (!c || c->state == CS_IDLE || c->custom_io)
        return TERN_ECLOSED;
    int rc = tern_client_tick(c, clock_mono_ms());
    if (c->state == CS_IDLE)
        return c->rc.pending ? 0 : (c->last_err ? c->last_err : rc);
    int64_t wait = timeout_ms;
    int64_t nt = tern_client_next_timeout_ms(c);
    if (nt >= 0 && (wait < 0 || nt < wait))
        wait = nt;
    struct pollfd pfd = {tern_client_fd(c), POLLIN, 0};
    if (tern_client_wants_write(c))
        pfd.events |= POLLOUT;
    int n = poll(&pfd, 1, (int)wait);
    if (n < 0 && errno != EINTR)
        return TERN_ESYS;
    c->now_ms = clock_mono_ms();
    if (n > 0 && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) && c->state != CS_IDLE)
        tern_client_on_writable(c);
    if (n > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && c->state != CS_IDLE)
        tern_client_on_readable(c);
    if (c->state != CS_IDLE)
        tern_client_tick(c, clock_mono_ms());
    return c->state == CS_IDLE && !c->rc.pending ? c->last_err : 0;
}

typedef bool (*done_fn)(const struct tern_client *c, uint16_t arg);

/* Runs rounds until done() holds, the connection closes, or timeout_ms passes; when stoppable
 * (tern_client_run only) also until tern_client_stop(). The other blocking calls wait for their
 * own condition and leave a stop requested meanwhile for the tern_client_run it was meant for:
 * returning 0 there would report a CONNACK, an acknowledgement or a close that has not
 * happened. */
static int run_until(struct tern_client *c, done_fn done, uint16_t arg, int timeout_ms,
                     bool stoppable)
{
    uint64_t start = clock_mono_ms();
    for (;;) {
        if (done && done(c, arg))
            return 0;
        if (c->state == CS_IDLE && !c->rc.pending)
            return c->last_err ? c->last_err : (done ? TERN_ECLOSED : 0);
        if (stoppable && c->stop) {
            c->stop = false;
            return 0;
        }
        int left = -1;
        if (timeout_ms >= 0) {
            uint64_t spent = clock_mono_ms() - start;
            if (spent >= (uint64_t)timeout_ms)
                return TERN_ETIMEDOUT;
            left = timeout_ms - (int)spent;
        }
        int rc = tern_client_run_once(c, left);
        if (rc && (c->state != CS_IDLE || c->rc.pending))
            return rc;
    }
}

static bool is_connected(const struct tern_client *c, uint16_t arg)
{
    (void)arg;
    return c->state == CS_CONNECTED;
}

static bool publish_done(const struct tern_client *c, uint16_t id)
{
    if (id == 0)
        return c->state == CS_CONNECTED && c->out.len == 0;
    return !tern_client_is_pending(c, id);
}

int tern_client_connect_blocking(struct tern_client *c, const struct tern_connect_options *opt,
                                 int timeout_ms)
{
    int rc = tern_client_connect(c, opt, clock_mono_ms());
    if (rc)
        return rc;
    return run_until(c, is_connected, 0, timeout_ms, false);
}

int tern_client_publish_blocking(struct tern_client *c, const char *topic, struct tern_str payload,
                                 uint8_t qos, bool retain, const struct tern_props *props,
                                 int timeout_ms)
{
    uint16_t id = 0;
    if (!c || c->state == CS_IDLE)
        return TERN_ECLOSED;
    int rc = tern_client_publish(c, topic, payload, qos, retain, props, &id);
    if (rc)
        return rc;
    return run_until(c, publish_done, id, timeout_ms, false);
}

int tern_client_disconnect_blocking(struct tern_client *c, int timeout_ms)
{
    int rc = tern_client_disconnect(c, 0, NULL);
    if (rc)
        return rc;
    return run_until(c, NULL, 0, timeout_ms, false);
}

int tern_client_run(struct tern_client *c, int timeout_ms)
{
    if (!c)
        return TERN_EINVAL;
    return run_until(c, NULL, 0, timeout_ms, true);
}

void tern_client_stop(struct tern_client *c)
{
    if (c)
        c->stop = true;
}
