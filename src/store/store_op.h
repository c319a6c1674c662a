/* A queued store mutation: one allocation holding the op and copies of every string and blob
 * it needs, so the caller's buffers may go away at once. Built by the mutation functions of
 * store.c, applied by store_apply.c, freed by the store thread. No SQL here. */
#ifndef TERN_STORE_STORE_OP_H
#define TERN_STORE_STORE_OP_H

#include <stdbool.h>
#include <stdint.h>

#include "bytes.h"

enum store_op_kind {
    STORE_OP_MSG_PUT = 1,
    STORE_OP_SESSION_PUT,
    STORE_OP_SESSION_OFFLINE,
    STORE_OP_SESSION_DEL,
    STORE_OP_SUB_PUT,
    STORE_OP_SUB_DEL,
    STORE_OP_QUEUE_PUT,
    STORE_OP_QUEUE_DEL,
    STORE_OP_INFLIGHT_PUT,
    STORE_OP_INFLIGHT_DEL,
    STORE_OP_QOS2_PUT,
    STORE_OP_QOS2_DEL,
    STORE_OP_RETAIN_PUT,
    STORE_OP_RETAIN_DEL,
    STORE_OP_EXPIRE,
};

#define STORE_OP_MAX_BLOBS 4

/* Blob slots by kind (b[0] is the client id for session-scoped ops):
 *   MSG_PUT: topic, payload, props.  SESSION_PUT: client, will topic, will payload, will props.
 *   SUB_*: client, filter.  QUEUE_PUT / INFLIGHT_PUT: client, sub ids (4 bytes each, BE).
 *   RETAIN_*: topic.  Others: client. */
struct store_op {
    struct store_op *next;
    uint64_t seq;
    uint64_t msg_id;
    int64_t wall;  /* MSG_PUT: expiry (ms, 0 = never); OFFLINE: wall_s; EXPIRE: now ms;
                      SESSION_PUT: will expiry (ms, 0 = never) */
    int64_t wall2; /* SESSION_PUT: seen wall_s; EXPIRE: sweep messages below this id */
    uint32_t u32;  /* SESSION_PUT: expiry_s; SUB_PUT: sub_id */
    uint32_t u32b; /* SESSION_PUT: will delay_s */
    uint16_t packet_id;
    uint8_t kind; /* enum store_op_kind */
    uint8_t qos;
    uint8_t state;
    uint8_t options;
    uint8_t version; /* SESSION_PUT: MQTT protocol version (0 = not known) */
    bool retain;
    bool has_will;
    bool unqueue; /* INFLIGHT_PUT: also remove the message's queue row, in the same op */
    struct tern_bytes b[STORE_OP_MAX_BLOBS];
};

/* A zeroed op of kind with copies of blobs[0..n) (n <= STORE_OP_MAX_BLOBS), each followed by
 * a NUL so text can be read as a C string. A blob with a NULL ptr gets len zeroed bytes that
 * the caller may fill before queueing the op. NULL on OOM. */
struct store_op *store_op_new(uint8_t kind, const struct tern_bytes *blobs, unsigned n);
/* Accepts NULL. */
void store_op_free(struct store_op *op);

#endif
