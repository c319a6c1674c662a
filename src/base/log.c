/* Formats one line (timestamp prefix, then the message) and writes it whole to each destination.
 * Does not open or rotate files: the caller sets lg->file. */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "err.h"
#include "mem.h"

/* One log_timestamp_format value; kept until log_deinit because a thread may be formatting with
 * it when it is replaced. */
struct log_format {
    struct log_format *next;
    char fmt[];
};

void log_init(struct log *lg)
{
    lg->levels = TLOG_ERR | TLOG_WARN | TLOG_NOTICE | TLOG_INFO;
    lg->dests = LOG_DEST_STDERR;
    lg->file = NULL;
    lg->timestamps = 1;
    lg->ts_format = NULL;
    lg->formats = NULL;
    lg->sink = NULL;
    lg->sink_ctx = NULL;
}

void log_set_sink(struct log *lg, log_sink_fn fn, void *ctx)
{
    lg->sink = fn;
    lg->sink_ctx = ctx;
}

int log_syslog_facility(int n)
{
    static const int local[] = {LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
                                LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};
    return n >= 0 && n < 8 ? local[n] : LOG_DAEMON;
}

void log_open_syslog(const char *ident, int n)
{
    openlog(ident, LOG_PID | LOG_NDELAY, log_syslog_facility(n));
}

void log_deinit(struct log *lg)
{
    if (lg->file)
        fclose(lg->file);
    lg->file = NULL;
    atomic_store(&lg->ts_format, NULL);
    while (lg->formats) {
        struct log_format *f = lg->formats;
        lg->formats = f->next;
        mem_free(f);
    }
}

int log_set_timestamp_format(struct log *lg, const char *fmt)
{
    if (!fmt || !fmt[0]) {
        atomic_store(&lg->ts_format, NULL);
        return 0;
    }
    const char *cur = atomic_load(&lg->ts_format);
    if (cur && strcmp(cur, fmt) == 0)
        return 0;
    size_t len = strlen(fmt);
    struct log_format *f = mem_alloc(sizeof *f + len + 1);
    if (!f)
        return TERN_ENOMEM;
    memcpy(f->fmt, fmt, len + 1);
    f->next = lg->formats;
    lg->formats = f;
    atomic_store(&lg->ts_format, f->fmt);
    return 0;
}

size_t log_format_timestamp(const struct log *lg, long long t_s, char *out, size_t cap)
{
    const char *fmt = atomic_load_explicit(&lg->ts_format, memory_order_acquire);
    size_t n = 0;
    if (fmt) {
        time_t t = (time_t)t_s;
        struct tm tm;
        /* The format comes from the configuration: strftime's format argument cannot be a
         * literal here, which is the point of the option. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (cap > 2 && localtime_r(&t, &tm))
            n = strftime(out, cap - 2, fmt, &tm);
#pragma GCC diagnostic pop
    }
    if (n == 0) {
        int k = snprintf(out, cap, "%lld: ", t_s);
        return k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
    }
    out[n++] = ':';
    out[n++] = ' ';
    out[n] = '\0';
    return n;
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
        off = log_format_timestamp(lg, (long long)time(NULL), line, 256);
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
    if ((dests & LOG_DEST_TOPIC) && lg->sink)
        lg->sink(lg->sink_ctx, level, line, off - 1);
}
