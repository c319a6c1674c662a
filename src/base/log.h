/* Logging: levels (Mosquitto's log_type names), destinations (stderr, stdout, file, syslog,
 * none). The log object is explicit; one per broker. Thread-safe: each line is one write. */
#ifndef TERN_BASE_LOG_H
#define TERN_BASE_LOG_H

#include <stdatomic.h>
#include <stdio.h>

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
};

/* levels, dests and timestamps may change while other threads log (SIGHUP), so they are
 * atomic; file is set before threads start and not replaced afterwards. */
struct log {
    _Atomic unsigned levels; /* mask of enum log_level */
    _Atomic unsigned dests;  /* mask of enum log_dest; 0 = none */
    FILE *file;              /* when LOG_DEST_FILE */
    _Atomic int timestamps;
};

/* Defaults: errors, warnings, notices and info to stderr. */
void log_init(struct log *lg);
void log_deinit(struct log *lg);
void log_msg(const struct log *lg, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
