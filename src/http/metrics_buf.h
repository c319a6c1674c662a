/* A writer for the Prometheus text exposition format (version 0.0.4): # HELP and # TYPE lines and
 * samples with labels, with names checked and HELP text and label values escaped as the format
 * requires. It only formats text into a buffer; it knows nothing of the broker's counters. */
#ifndef TERN_HTTP_METRICS_BUF_H
#define TERN_HTTP_METRICS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The exposition format's Content-Type, for the /metrics response. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A histogram family's samples are written by the caller: name_bucket{le="..."} (cumulative,
 * ending with le="+Inf"), name_sum and name_count. */
enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_UNTYPED, METRICS_HISTOGRAM };

/* One label: name must match [a-zA-Z_][a-zA-Z0-9_]* and not start with "__" (reserved); value is
 * any UTF-8 text (escaped on output). */
struct metrics_label {
    const char *name;
    const char *value;
};

/* Output accumulates in out; the first error is sticky in err (later calls do nothing), so a
 * renderer can emit everything and check once at the end. */
struct metrics_buf {
    struct buf out;
    int err;
};

void metrics_buf_init(struct metrics_buf *m);
/* Frees the text. */
void metrics_buf_deinit(struct metrics_buf *m);

/* Starts a metric family: "# HELP name help" (help may be NULL: no HELP line) and
 * "# TYPE name type". A family must be declared once, before its samples. Sets err to
 * TERN_EINVAL for a bad name, TERN_ENOMEM when out of memory. Returns err. */
int metrics_buf_family(struct metrics_buf *m, const char *name, enum metrics_type type,
                       const char *help);
/* One sample line "name{l1="v1",...} value". labels may be NULL when n_labels is 0. Counters
 * should be named *_total (the caller's choice; not enforced). Returns err (TERN_EINVAL for a
 * bad metric or label name). */
int metrics_buf_u64(struct metrics_buf *m, const char *name, const struct metrics_label *labels,
                    size_t n_labels, uint64_t value);
/* As metrics_buf_u64 for a floating value: NaN, +Inf and -Inf are written as the format spells
 * them, others with 17 significant digits. */
int metrics_buf_double(struct metrics_buf *m, const char *name, const struct metrics_label *labels,
                       size_t n_labels, double value);

/* Whether s is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
bool metrics_buf_name_ok(const char *s);

#endif
