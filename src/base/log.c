/* Formats one line and writes it whole to each destination. */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

void log_init(struct log *lg)
{
    lg->levels = TLOG_ERR | TLOG_WARN | TLOG_NOTICE | TLOG_INFO;
    lg->dests = LOG_DEST_STDERR;
    lg->file = NULL;
    lg->timestamps = 1;
}

void log_deinit(struct log *lg)
{
    if (lg->file)
        fclose(lg->file);
    lg->file = NULL;
}

static int syslog_prio(enum log_level level)
{
    switch (level) {
    case TLOG_ERR:
        return LOG_ERR;
    case TLOG_WARN:
        return LOG_WARNING;
    case TLOG_NOTICE:
        return LOG_NOTICE;
    case TLOG_DEBUG:
        return LOG_DEBUG;
    default:
        return LOG_INFO;
    }
}

void log_msg(const struct log *lg, enum log_level level, const char *fmt, ...)
{
    if (!lg)
        return;
    unsigned dests = atomic_load_explicit(&lg->dests, memory_order_relaxed);
    if (!(atomic_load_explicit(&lg->levels, memory_order_relaxed) & level) || !dests)
        return;
    char line[1024];
    size_t off = 0;
    if (atomic_load_explicit(&lg->timestamps, memory_order_relaxed))
        off = (size_t)snprintf(line, sizeof line, "%lld: ", (long long)time(NULL));
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + off, sizeof line - off - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    off += (size_t)n < sizeof line - off - 1 ? (size_t)n : sizeof line - off - 2;
    line[off++] = '\n';
    if (dests & LOG_DEST_STDERR)
        fwrite(line, 1, off, stderr);
    if (dests & LOG_DEST_STDOUT) {
        fwrite(line, 1, off, stdout);
        fflush(stdout);
    }
    if ((dests & LOG_DEST_FILE) && lg->file) {
        fwrite(line, 1, off, lg->file);
        fflush(lg->file);
    }
    if (dests & LOG_DEST_SYSLOG)
        syslog(syslog_prio(level), "%.*s", (int)(off - 1), line);
}
