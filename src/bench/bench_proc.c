/* /proc sampling of the broker under test (see bench_proc.h). The stat parser skips the command
 * name up to its last ')' because the name itself may hold spaces or parentheses. */
#include "bench_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bench_proc_parse_stat(const char *text, uint64_t *ticks)
{
    const char *p = strrchr(text, ')');
    if (!p)
        return TERN_EPROTO;
    p++;
    /* After ')' come fields 3 (state) onwards; utime and stime are fields 14 and 15. */
    uint64_t sum = 0;
    for (int field = 3; field <= 15; field++) {
        char *end;
        while (*p == ' ')
            p++;
        if (!*p)
            return TERN_EPROTO;
        if (field >= 14) {
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p)
                return TERN_EPROTO;
            sum += v;
            p = end;
        } else {
            p += strcspn(p, " ");
        }
    }
    *ticks = sum;
    return 0;
}

int bench_proc_parse_status(const char *text, uint64_t *rss_kib)
{
    const char *p = strstr(text, "VmRSS:");
    char *end;
    if (!p)
        return TERN_EPROTO;
    unsigned long long v = strtoull(p + 6, &end, 10);
    if (end == p + 6)
        return TERN_EPROTO;
    *rss_kib = v;
    return 0;
}

static int slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return TERN_ENOTFOUND;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n ? 0 : TERN_ENOTFOUND;
}

int bench_proc_sample(int pid, struct bench_proc_sample *out)
{
    char path[64], text[4096];
    uint64_t ticks = 0, rss = 0;
    long hz = sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (slurp(path, text, sizeof text) != 0 || bench_proc_parse_stat(text, &ticks) != 0)
        return TERN_ENOTFOUND;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (slurp(path, text, sizeof text) != 0 || bench_proc_parse_status(text, &rss) != 0)
        return TERN_ENOTFOUND;
    out->cpu_s = (double)ticks / (double)(hz > 0 ? hz : 100);
    out->rss_kib = rss;
    return 0;
}
