/* tern_allocator_set: a whole connect / publish QoS 1 / disconnect cycle over a loopback socket
 * (the server side is played here with tests/support/pkt.h bytes) takes every block from the
 * user's hooks and gives every block back to them; fault injection still works on top. A binary
 * of its own because the hooks are process-wide and must be set before any other libtern call. */
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_net.h"
#include "mem.h"
#include "pkt.h"
#include "tern.h"
#include "unit.h"

#define WAIT_MS 5000
#define MAGIC   0x7465726eu /* "tern" */

/* Each hook block starts with a header the free hook verifies: a block freed here that did not
 * come from hook_malloc/hook_realloc is counted as foreign. */
struct hook_hdr {
    unsigned magic;
    unsigned pad[3];
};

static long n_malloc, n_realloc, n_free, n_live, n_foreign;

static void *hook_malloc(size_t len)
{
    struct hook_hdr *h = malloc(sizeof *h + len);
    if (!h)
        return NULL;
    h->magic = MAGIC;
    n_malloc++;
    n_live++;
    return h + 1;
}

static void *hook_realloc(void *ptr, size_t len)
{
    struct hook_hdr *h = (struct hook_hdr *)ptr - 1;
    if (h->magic != MAGIC) {
        n_foreign++;
        return NULL;
    }
    h = realloc(h, sizeof *h + len);
    if (!h)
        return NULL;
    n_realloc++;
    return h + 1;
}

static void hook_free(void *ptr)
{
    struct hook_hdr *h = (struct hook_hdr *)ptr - 1;
    if (h->magic != MAGIC) {
        n_foreign++;
        return;
    }
    h->magic = 0;
    n_free++;
    n_live--;
    free(h);
}

static int published;

static void on_publish(struct tern_client *c, void *ud, uint16_t id, uint8_t reason,
                       const struct tern_props *props)
{
    (void)c;
    (void)ud;
    (void)id;
    (void)reason;
    (void)props;
    published++;
}

static bool output_written(struct tern_client *c)
{
    return !tern_client_wants_write(c);
}

static bool is_connected(struct tern_client *c)
{
    return tern_client_is_connected(c);
}

static bool is_published(struct tern_client *c)
{
    (void)c;
    return published == 1;
}

static bool is_closed(struct tern_client *c)
{
    return tern_client_is_closed(c);
}

/* Reads exactly the bytes of want from fd. */
static bool expect(int fd, struct pkt *want)
{
    uint8_t buf[256];
    size_t got = 0;
    while (got < want->len && got < sizeof buf) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n = poll(&p, 1, WAIT_MS) == 1 ? read(fd, buf + got, want->len - got) : -1;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    bool ok = got == want->len && memcmp(buf, want->data, got) == 0;
    pkt_reset(want);
    return ok;
}

/* The server side of the cycle; false at the first unexpected step. */
static bool run_cycle(struct tern_client *c, int lfd)
{
    struct pkt p;
    pkt_init(&p);
    bool ok = client_net_pump(c, output_written);
    int fd = ok ? accept(lfd, NULL, NULL) : -1;
    pkt_connect(&p, 4, "alloc", 0, 1);
    ok = fd >= 0 && expect(fd, &p) && write(fd, "\x20\x02\x00\x00", 4) == 4 &&
         client_net_pump(c, is_connected);
    ok = ok && tern_client_publish(c, "a/b", tern_str_of("hello"), 1, false, NULL, NULL) == 0 &&
         client_net_pump(c, output_written);
    pkt_publish(&p, 4, "a/b", "hello", 1, 0, 1);
    ok = ok && expect(fd, &p);
    pkt_ack(&p, 4, 1); /* type 4: PUBACK for packet id 1 */
    ok = ok && write(fd, p.data, p.len) == (ssize_t)p.len && client_net_pump(c, is_published);
    pkt_reset(&p);
    ok = ok && tern_client_disconnect(c, 0, NULL) == 0 && client_net_pump(c, is_closed);
    pkt_disconnect(&p, 4, 0);
    ok = ok && expect(fd, &p);
    pkt_free(&p);
    if (fd >= 0)
        close(fd);
    return ok;
}

static void test_hooks_serve_a_whole_cycle(void)
{
    /* Only some hooks: refused, nothing changes. */
    CHECK_EQ_INT(tern_allocator_set(hook_malloc, NULL, hook_free), TERN_ERROR_INVAL);
    CHECK_EQ_INT(n_malloc, 0);
    REQUIRE(tern_allocator_set(hook_malloc, hook_realloc, hook_free) == 0);

    uint16_t port;
    int lfd = client_net_listen(&port);
    REQUIRE(lfd >= 0);
    struct tern_callbacks cb = {.on_publish = on_publish};
    struct tern_client *c = tern_client_new(&cb, NULL);
    REQUIRE(c);
    long after_new = n_malloc;
    CHECK(after_new > 0);
    struct tern_connect_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = port;
    o.client_id = "alloc";
    o.clean_start = true;
    REQUIRE(tern_client_connect(c, &o, 0) == 0);
    CHECK(run_cycle(c, lfd));
    CHECK(n_malloc > after_new); /* connect options, CONNECT, buffers, the queued publish */
    CHECK(n_live > 0);
    tern_client_free(c);
    close(lfd);
    CHECK_EQ_INT(n_live, 0);
    CHECK_EQ_INT(n_foreign, 0);
    CHECK(n_free == n_malloc);
    CHECK_EQ_INT(mem_in_use(), 0);
}

static void test_fault_injection_on_top_of_hooks(void)
{
    /* Every allocation attempt but the injected failure reaches the hook, and whatever was made
     * before the failure is given back to it. */
    for (uint64_t nth = 1; nth <= 3; nth++) {
        long before = n_malloc;
        mem_fail_at(nth);
        CHECK(tern_client_new(NULL, NULL) == NULL);
        CHECK_EQ_INT(mem_alloc_count() >= nth, 1);
        CHECK_EQ_INT(n_malloc - before, (long)mem_alloc_count() - 1);
        CHECK_EQ_INT(n_live, 0);
    }
    mem_fail_at(0);
    CHECK_EQ_INT(mem_in_use(), 0);
    struct tern_client *c = tern_client_new(NULL, NULL);
    CHECK(c != NULL && n_live > 0);
    tern_client_free(c);
    CHECK_EQ_INT(n_live, 0);
    CHECK_EQ_INT(n_foreign, 0);
}

UNIT_MAIN(UNIT_TEST(test_hooks_serve_a_whole_cycle),
          UNIT_TEST(test_fault_injection_on_top_of_hooks))
