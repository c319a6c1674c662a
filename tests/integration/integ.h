/* Small helpers shared by the integration test files (static inline, so each test binary stays
 * one .c file): a monotonic clock and one-call senders of packets built with pkt.h. They assert
 * nothing themselves. */
#ifndef TERN_TESTS_INTEG_H
#define TERN_TESTS_INTEG_H

#include <time.h>

#include "pkt.h"
#include "spawner.h"
#include "tclient.h"
#include "unit.h"

static inline long long integ_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Build and send a CONNECT with every option; 0 or -1. */
static inline int integ_send_connect(struct tclient *c, const struct pkt_connect_opts *o)
{
    struct pkt p;
    pkt_init(&p);
    pkt_connect_full(&p, o);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    return rc;
}

/* Build and send a PUBLISH with every option; 0 or -1. */
static inline int integ_send_publish(struct tclient *c, const struct pkt_publish_opts *o)
{
    struct pkt p;
    pkt_init(&p);
    pkt_publish_full(&p, o);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    return rc;
}

/* Send PUBACK/PUBREC/PUBREL/PUBCOMP (type 4..7) for packet_id; 0 or -1. */
static inline int integ_send_ack(struct tclient *c, int type, uint16_t packet_id)
{
    struct pkt p;
    pkt_init(&p);
    pkt_ack(&p, type, packet_id);
    int rc = tclient_send(c, &p);
    pkt_free(&p);
    return rc;
}

/* Open and CONNECT (keep alive 60) with clean start/session `clean` and, for v5 when expiry_s is
 * non-zero, a Session Expiry Interval; require CONNACK 0. session_present may be NULL. 0 or -1. */
static inline int integ_start(struct tclient *c, int port, int version, const char *id, int clean,
                              uint32_t expiry_s, int *session_present)
{
    if (tclient_open(c, port, version) != 0)
        return -1;
    struct pkt props;
    pkt_init(&props);
    if (expiry_s)
        pkt_prop_u32(&props, 0x11, expiry_s);
    struct pkt_connect_opts o = {
        .version = version, .client_id = id, .keep_alive = 60, .clean = clean, .props = &props};
    int rc = integ_send_connect(c, &o);
    pkt_free(&props);
    struct tclient_pkt r;
    if (rc != 0 || tclient_expect(c, &r, CT_CONNACK, TCLIENT_TIMEOUT_MS) != 0)
        return -1;
    rc = r.reason == 0 ? 0 : -1;
    if (rc != 0)
        tclient_pkt_dump("integ: CONNACK refused", &r);
    if (session_present)
        *session_present = r.session_present;
    tclient_pkt_free(&r);
    return rc;
}

/* Send a packet given as literal bytes; 0 or -1. */
static inline int integ_send_bytes(struct tclient *c, const void *data, size_t len)
{
    return tclient_send_raw(c, data, len);
}

/* Whether a received PUBLISH has exactly this topic and payload. */
static inline int integ_is_msg(const struct tclient_pkt *r, const char *topic, const char *payload)
{
    size_t tl = strlen(topic), pl = strlen(payload);
    return r->type == CT_PUBLISH && r->topic_len == tl && memcmp(r->topic, topic, tl) == 0 &&
           r->payload_len == pl && memcmp(r->payload, payload, pl) == 0;
}

#endif
