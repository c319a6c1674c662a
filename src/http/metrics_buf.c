/* Prometheus text exposition writer: validates names, escapes HELP text (backslash, newline) and
 * label values (backslash, double quote, newline) and formats values. It does not check that a
 * family is declared once or that samples follow their family: that is the renderer's job. */
#include "metrics_buf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

void metrics_buf_init(struct metrics_buf *m)
{
    buf_init(&m->out);
    m->err = 0;
}

void metrics_buf_deinit(struct metrics_buf *m)
{
    buf_deinit(&m->out);
}

static bool is_name_char(char c, bool first, bool colon_ok)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (c == ':')
        return colon_ok;
    return !first && c >= '0' && c <= '9';
}

bool metrics_buf_name_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (size_t i = 0; s[i]; i++)
        if (!is_name_char(s[i], i == 0, true))
            return false;
    return true;
}

static bool label_name_ok(const char *s)
{
    if (s == NULL || *s == '\0' || strncmp(s, "__", 2) == 0)
        return false;
    for (size_t i = 0; s[i]; i++)
        if (!is_name_char(s[i], i == 0, false))
            return false;
    return true;
}

static void put(struct metrics_buf *m, const void *p, size_t n)
{
    if (m->err == 0 && buf_append(&m->out, p, n) != 0)
        m->err = TERN_ENOMEM;
}

static void put_str(struct metrics_buf *m, const char *s)
{
    put(m, s, strlen(s));
}

/* Escapes backslash and newline, and also the double quote when in_label. */
static void put_escaped(struct metrics_buf *m, const char *s, bool in_label)
{
    for (; *s; s++) {
        if (*s == '\\')
            put_str(m, "\\\\");
        else if (*s == '\n')
            put_str(m, "\\n");
        else if (*s == '"' && in_label)
            put_str(m, "\\\"");
        else
            put(m, s, 1);
    }
}

static const char *const type_names[] = {"counter", "gauge", "untyped", "histogram"};

int metrics_buf_family(struct metrics_buf *m, const char *name, enum metrics_type type,
                       const char *help)
{
    if (m->err)
        return m->err;
    if (!metrics_buf_name_ok(name) || (unsigned)type > METRICS_HISTOGRAM)
        return m->err = TERN_EINVAL;
    if (help != NULL) {
        put_str(m, "# HELP ");
        put_str(m, name);
        put_str(m, " ");
        put_escaped(m, help, false);
        put_str(m, "\n");
    }
    put_str(m, "# TYPE ");
    put_str(m, name);
    put_str(m, " ");
    put_str(m, type_names[type]);
    put_str(m, "\n");
    return m->err;
}

/* Writes "name{labels} " (the value follows). */
static int sample_head(struct metrics_buf *m, const char *name, const struct metrics_label *labels,
                       size_t n_labels)
{
    if (m->err)
        return m->err;
    if (!metrics_buf_name_ok(name))
        return m->err = TERN_EINVAL;
    for (size_t i = 0; i < n_labels; i++)
        if (!label_name_ok(labels[i].name) || labels[i].value == NULL)
            return m->err = TERN_EINVAL;
    put_str(m, name);
    for (size_t i = 0; i < n_labels; i++) {
        put_str(m, i == 0 ? "{" : ",");
        put_str(m, labels[i].name);
        put_str(m, "=\"");
        put_escaped(m, labels[i].value, true);
        put_str(m, "\"");
    }
    put_str(m, n_labels ? "} " : " ");
    return m->err;
}

int metrics_buf_u64(struct metrics_buf *m, const char *name, const struct metrics_label *labels,
                    size_t n_labels, uint64_t value)
{
    char num[24];
    if (sample_head(m, name, labels, n_labels) != 0)
        return m->err;
    (void)snprintf(num, sizeof num, "%" PRIu64 "\n", value);
    put_str(m, num);
    return m->err;
}

int metrics_buf_double(struct metrics_buf *m, const char *name, const struct metrics_label *labels,
                       size_t n_labels, double value)
{
    char num[40];
    if (sample_head(m, name, labels, n_labels) != 0)
        return m->err;
    if (isnan(value))
        (void)snprintf(num, sizeof num, "NaN\n");
    else if (isinf(value))
        (void)snprintf(num, sizeof num, "%sInf\n", value > 0 ? "+" : "-");
    else
        (void)snprintf(num, sizeof num, "%.17g\n", value);
    put_str(m, num);
    return m->err;
}
