/* Shared helpers of the codec round-trip tests: one full v5 property set per context (together
 * they hold every property), field-by-field comparison of properties, and the round trip itself:
 * encode with the sizing contract checked, decode whole and by prefix, re-encode, compare. */
#ifndef TERN_TESTS_ROUNDTRIP_H
#define TERN_TESTS_ROUNDTRIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define BUFSZ     4096
#define MAX_ITEMS 16
/* The two members of a struct tern_bytes initialiser for a string literal. */
#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

static inline struct tern_bytes S(const char *s) {
    return bytes_str(s);
}

extern const uint8_t roundtrip_corr[4];
extern const uint8_t roundtrip_blob[3];

/* Adds three User Properties (a repeated name, a non-ASCII name, an empty value). */
void roundtrip_users(struct mqtt_props *p);
/* Zero p, then fill every property the context allows, user properties included. */
void roundtrip_props_will(struct mqtt_props *p);
void roundtrip_props_publish(struct mqtt_props *p); /* three Subscription Identifiers */
void roundtrip_props_connect(struct mqtt_props *p);
void roundtrip_props_connack(struct mqtt_props *p);
void roundtrip_props_reason(struct mqtt_props *p); /* acks, SUBACK, UNSUBACK */
void roundtrip_props_subscribe(struct mqtt_props *p);
void roundtrip_props_disconnect(struct mqtt_props *p);
void roundtrip_props_auth(struct mqtt_props *p);

/* CHECKs that decoded g holds exactly the properties of w, with equal values. */
void roundtrip_check_props(const struct mqtt_props *w, const struct mqtt_props *g);
/* The same for a peer of `version`: before v5, g must hold none. */
void roundtrip_check_props_v(const struct mqtt_props *w, const struct mqtt_props *g,
                             uint8_t version);

/* Scratch space to re-encode a decoded packet: the lists the decoder leaves in raw form. */
struct roundtrip_scratch {
    struct mqtt_sub_entry subs[MAX_ITEMS];
    struct tern_bytes unsubs[MAX_ITEMS];
    uint32_t ids[MAX_ITEMS];
};

/* Turns a decoded packet into one the encoder takes: lists for SUBSCRIBE / UNSUBSCRIBE and every
 * Subscription Identifier of a PUBLISH (user properties are forwarded from raw as they are). */
void roundtrip_prepare(struct mqtt_packet *p, struct roundtrip_scratch *s);
bool roundtrip_all_bytes(const uint8_t *b, size_t n, uint8_t v);
/* Encodes `in` into wire[0..BUFSZ) (checking the sizing contract), decodes it into *out (slices
 * into wire; every prefix must need more, a maximum one byte short must be refused), re-encodes
 * *out and compares the bytes. Returns the packet's size, 0 after a failed CHECK. */
size_t roundtrip_run(const struct mqtt_packet *in, uint8_t version, uint8_t *wire,
                     struct mqtt_packet *out);

#endif
