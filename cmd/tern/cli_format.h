/* Output of received messages exactly as mosquitto_sub 2.0 prints them: the default payload
 * line, -v "topic payload", and the -F format language (%t %p %q %r %m %l %x %X %I %U %j %J
 * %A %C %D %E %F %P %R %S, @strftime fields, \ escapes, flags/width/precision), including the
 * cJSON-compatible JSON output of %j / %J. Writes to a FILE; keeps no state. */
#ifndef TERN_CMD_CLI_FORMAT_H
#define TERN_CMD_CLI_FORMAT_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "tern.h"

struct cli_print_opts {
    const char *format; /* -F, or NULL */
    bool verbose;       /* -v */
    bool eol;           /* false with -N */
    bool pretty;        /* --pretty */
    bool has_props;     /* v5 connection: the message's properties exist */
};

/* Prints msg to out as mosquitto_sub would, with `now` (CLOCK_REALTIME) for the time fields.
 * Errors (a %J payload that is not JSON) go to err unless it is NULL. */
void cli_print_message(FILE *out, FILE *err, const struct cli_print_opts *o,
                       const struct tern_message *msg, const struct timespec *now);

/* Writes s as a cJSON string literal (quotes and escapes). */
void cli_json_string(FILE *out, const char *s, size_t len);

/* Re-prints the JSON text s[0..len) as cJSON would (pretty at the given depth). Returns false
 * (printing nothing) when it is not a single valid JSON value. */
bool cli_json_reprint(FILE *out, const char *s, size_t len, bool pretty, int depth);

#endif
