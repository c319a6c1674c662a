/* Logging: levels (Mosquitto's log_type names), destinations (stderr, stdout, file, syslog,
 * none), timestamps (epoch seconds or a strftime format). The log object is explicit; one per
 * broker. Thread-safe: each line is one write. */
#ifndef TERN_BASE_LOG_H
#define TERN_BASE_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

struct log_format;

enum log_level {
    TLOG_ERR = 1 << 0,
    TLOG_WARN = 1 << 1,
    TLOG_NOTICE = 1 << 2,
    TLOG_INFO = 1 << 3,
    TLOG_DEBUG = 1 << 4,
    TLOG_SUBSCRIBE = 1 << 5,
    TLOG_UNSUBSCRIBE = 1 << 6,
    TLOG_ALL_LEVELS = 0x7f,
};

enum log_dest {
    LOG_DEST_STDERR = 1 << 0,
    LOG_DEST_STDOUT = 1 << 1,
    LOG_DEST_FILE = 1 << 2,
    LOG_DEST_SYSLOG = 1 << 3,
    LOG_DEST_TOPIC = 1 << 4, /* handed to the sink (log_set_sink), e.g. published as MQTT */
};

/* Receives each line for LOG_DEST_TOPIC: its level and text (timestamp prefix included, no
 * newline), from whichever thread logged it. It must not block for long, and it may log itself
 * only if it guards against recursion. */
typedef void (*log_sink_fn)(void *ctx, enum log_level level, const char *line, size_t len);

/* levels, dests and timestamps may change while other threads log (SIGHUP), so they are
 * atomic; file is set before threads start and not replaced afterwards. */
struct log {
    _Atomic unsigned levels; /* mask of enum log_level */
    _Atomic unsigned dests;  /* mask of enum log_dest; 0 = none */
    FILE *file;              /* when LOG_DEST_FILE */
    _Atomic int timestamps;
    /* strftime format of the timestamps (log_timestamp_format), NULL = seconds since the epoch.
     * Points into formats; replaced atomically, never freed before log_deinit. */
    const char *_Atomic ts_format;
    struct log_format *formats; /* every format set so far, freed by log_deinit */
    /* The LOG_DEST_TOPIC sink, or NULL: set while no other thread logs (log_set_sink). */
    log_sink_fn sink;
    void *sink_ctx;
};

/* Defaults: errors, warnings, notices and info to stderr. */
void log_init(struct log *lg);
void log_deinit(struct log *lg);
/* Sets the strftime format of line timestamps, as Mosquitto's log_timestamp_format (local time,
 * e.g. "%Y-%m-%dT%H:%M:%S"); NULL or "" restores the default, seconds since the epoch. fmt is
 * copied. Other threads may log meanwhile (they see the old or the new format); a replaced format
 * is kept until log_deinit. Not thread-safe against itself. Returns 0 or TERN_ENOMEM (the format
 * in force is kept). */
int log_set_timestamp_format(struct log *lg, const char *fmt);
/* Writes the timestamp prefix of a line ("<time>: ") into out (cap bytes) for wall time t_s with
 * lg's format; returns its length. A format whose result is empty or does not fit falls back to
 * the seconds since the epoch. */
size_t log_format_timestamp(const struct log *lg, long long t_s, char *out, size_t cap);
/* Sets (or with NULL clears) the sink of LOG_DEST_TOPIC lines. Not thread-safe: call it before
 * other threads start logging through lg, or after they stopped. */
void log_set_sink(struct log *lg, log_sink_fn fn, void *ctx);
/* The syslog facility for log_facility n (0..7 = LOG_LOCAL0..7; anything else: LOG_DAEMON,
 * Mosquitto's default). */
int log_syslog_facility(int n);
/* Opens syslog for LOG_DEST_SYSLOG lines as "ident", with log_syslog_facility(n). */
void log_open_syslog(const char *ident, int n);
void log_msg(const struct log *lg, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
