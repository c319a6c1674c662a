/* Tern's internal error codes: 0 is success, negative TERN_E* is failure.
 * One X-macro list generates the enum, the names and the messages. MQTT reason codes are a
 * separate enum (codec/reason.h) and never travel as these errors. */
#ifndef TERN_BASE_ERR_H
#define TERN_BASE_ERR_H

#define TERN_MUST_CHECK __attribute__((warn_unused_result))

/* X(name, value, message) */
#define TERN_ERR_MAP(X)                                                                            \
    X(EAGAIN, -1, "need more input")                                                               \
    X(EPROTO, -2, "protocol error")                                                                \
    X(ENOMEM, -3, "out of memory")                                                                 \
    X(EINVAL, -4, "invalid argument")                                                              \
    X(ETOOBIG, -5, "too large")                                                                    \
    X(EIO, -6, "input/output error")                                                               \
    X(ECLOSED, -7, "connection closed")                                                            \
    X(ENOTFOUND, -8, "not found")                                                                  \
    X(EEXIST, -9, "already exists")                                                                \
    X(ETIMEDOUT, -10, "timed out")                                                                 \
    X(ECONFIG, -11, "configuration error")                                                         \
    X(EDENIED, -12, "not authorised")                                                              \
    X(EFULL, -13, "queue full")                                                                    \
    X(ETLS, -14, "TLS error")                                                                      \
    X(ESYS, -15, "system call failed")                                                             \
    X(EPROXY, -16, "proxy error")                                                                  \
    X(EPROXYAUTH, -17, "proxy authentication method refused")

enum tern_err {
    TERN_OK = 0,
#define TERN_ERR_ENUM(name, value, msg) TERN_##name = (value),
    TERN_ERR_MAP(TERN_ERR_ENUM)
#undef TERN_ERR_ENUM
};

/* "TERN_EPROTO" for TERN_EPROTO; "TERN_E?" for unknown codes. */
const char *tern_err_name(int err);
/* Human message for err; never NULL. */
const char *tern_strerror(int err);

#endif
