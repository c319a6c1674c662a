/* Packet handlers: one per packet family, called by conn.c with a decoded packet whose slices
 * point into the connection's input buffer (copy what must outlive the call). */
#ifndef TERN_BROKER_HANDLE_H
#define TERN_BROKER_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

/* Topics and filters deeper than this are refused, as in Mosquitto: the subscription tree and
 * the retained store walk one level per frame, so depth must stay bounded. */
#define TOPIC_MAX_LEVELS 200

static inline bool handle_topic_depth_ok(struct tern_bytes t)
{
    size_t levels = 1;
    for (size_t i = 0; i < t.len; i++)
        if (t.ptr[i] == '/' && ++levels > TOPIC_MAX_LEVELS)
            return false;
    return true;
}

struct conn;
struct mqtt_packet;

/* Dispatches any packet by type and connection state. */
void handle_packet(struct conn *c, struct mqtt_packet *p);

void handle_connect(struct conn *c, struct mqtt_packet *p);
/* Refuses a connection attempt with a CONNACK in the client's version, then closes. */
void handle_connect_refuse(struct conn *c, uint8_t version, uint8_t reason);
/* The same, the v5 CONNACK carrying why (NULL: the reason's name) as its Reason String. */
void handle_connect_refuse_why(struct conn *c, uint8_t version, uint8_t reason, const char *why);
/* The Response Information for c's CONNACK: "PREFIX/<client id>" (heap, mem_free it) when the
 * client asked for it and `response_information` is set, else NULL. Call once c->s is set. */
char *handle_connect_response_info(const struct conn *c);
void handle_publish(struct conn *c, struct mqtt_packet *p);
void handle_puback(struct conn *c, struct mqtt_packet *p);
void handle_pubrec(struct conn *c, struct mqtt_packet *p);
void handle_pubrel(struct conn *c, struct mqtt_packet *p);
void handle_pubcomp(struct conn *c, struct mqtt_packet *p);
void handle_subscribe(struct conn *c, struct mqtt_packet *p);
void handle_unsubscribe(struct conn *c, struct mqtt_packet *p);
void handle_disconnect(struct conn *c, struct mqtt_packet *p);

#endif
