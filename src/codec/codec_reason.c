/* Which reason codes (v5) and return codes (v3) each packet type may carry, from the tables of
 * the v5 spec (3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1)
 * and 3.1.1 (3.2.2.3, 3.9.3). Does not judge which side may send which code. */
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec_internal.h"

static const uint8_t connack_v5[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                     0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
                                     0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
static const uint8_t puback_v5[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
static const uint8_t pubrel_v5[] = {0x00, 0x92};
static const uint8_t suback_v5[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                    0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
static const uint8_t unsuback_v5[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
static const uint8_t disconnect_v5[] = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D,
                                        0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                                        0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
static const uint8_t auth_v5[] = {0x00, 0x18, 0x19};
static const uint8_t suback_v3[] = {0x00, 0x01, 0x02, MQTT_V3_SUBACK_FAILURE};

static bool in(const uint8_t *set, size_t n, uint8_t rc)
{
    return memchr(set, rc, n) != NULL;
}

#define IN_SET(set, rc) in(set, sizeof set, rc)

static bool allowed_v3(uint8_t type, uint8_t rc)
{
    switch (type) {
    case MQTT_CONNACK:
        return rc <= MQTT_V3_NOT_AUTHORIZED; /* 6..255 are reserved (3.2.2.3) */
    case MQTT_SUBACK:
        return IN_SET(suback_v3, rc); /* [MQTT-3.9.3-2] */
    default:
        return rc == 0; /* no other v3 packet carries a code */
    }
}

bool codec_reason_allowed(uint8_t type, uint8_t version, uint8_t rc)
{
    if (version < MQTT_V5)
        return allowed_v3(type, rc);
    switch (type) {
    case MQTT_CONNACK:
        return IN_SET(connack_v5, rc);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
        return IN_SET(puback_v5, rc);
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        return IN_SET(pubrel_v5, rc);
    case MQTT_SUBACK:
        return IN_SET(suback_v5, rc);
    case MQTT_UNSUBACK:
        return IN_SET(unsuback_v5, rc);
    case MQTT_DISCONNECT:
        return IN_SET(disconnect_v5, rc);
    case MQTT_AUTH:
        return IN_SET(auth_v5, rc);
    default:
        return false;
    }
}
