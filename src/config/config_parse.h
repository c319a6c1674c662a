/* The configuration parser's engine: splits text into lines and tokens, finds each option in the
 * table (config_table.h), checks its argument count and scope, and calls its handler. Also owns
 * the diagnostics ("FILE:LINE: ..." strings) and include_dir file reading. Internal to
 * src/config; the public API is config.h. */
#ifndef TERN_CONFIG_CONFIG_PARSE_H
#define TERN_CONFIG_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CONFIG_MAX_ARGS 8

/* A slice of the text being parsed (not NUL-terminated). */
struct config_tok {
    const char *ptr;
    size_t len;
};

/* One significant line, split at spaces and tabs. */
struct config_line {
    const char *file;
    unsigned lineno;
    struct config_tok key;
    struct config_tok args[CONFIG_MAX_ARGS]; /* the first CONFIG_MAX_ARGS arguments */
    size_t argc;                             /* all arguments, may exceed CONFIG_MAX_ARGS */
    struct config_tok rest;                  /* everything after the key, trimmed */
};

/* State that restarts with each file, as in Mosquitto (an included file starts outside any
 * listener, bridge or plugin section). */
struct config_file_state {
    struct listener_conf *cur_listener; /* NULL = global section */
    bool in_bridge;
    bool in_plugin;
    int depth; /* 0 = main file */
};

struct config_parser {
    struct config *cfg;
    struct config_diag diag;
    struct config_file_state fs;
    struct listener_conf *default_listener; /* made by port/bind_address/listener options */
    bool default_explicit;                  /* default listener got `port` or `bind_address` */
    char *default_orphan_warning;           /* why an implicit default listener may be dropped */
    bool saw_listener;                      /* listener, port or bind_address seen */
    bool security_seen;                     /* a security option seen (per_listener_settings) */
    bool log_dest_set, log_type_set, log_file_set;
};

/* Initialises p around a fresh config holding the defaults. Returns 0 or TERN_ENOMEM. */
int config_parse_init(struct config_parser *p);
/* Releases everything p still owns (the config too unless taken). */
void config_parse_deinit(struct config_parser *p);

/* Parses len bytes of text as file `file` into p->cfg. Returns 0 (even when lines were bad:
 * see p->diag.error_count) or TERN_ENOMEM. */
int config_parse_text(struct config_parser *p, const char *text, size_t len, const char *file);
/* Reads and parses the file at path. `from` is the include_dir line that named it, or NULL for
 * the main file (used to place the error when the file cannot be read). 0 or TERN_ENOMEM. */
int config_parse_file(struct config_parser *p, const char *path, const struct config_line *from);

/* include_dir: parses every *.conf of the directory named by the rest of line l, in
 * alphabetical order, each as a fresh file (depth + 1). Refused outside the main file.
 * Returns 0, TERN_ECONFIG (error recorded) or TERN_ENOMEM. */
int config_parse_include_dir(struct config_parser *p, const struct config_line *l);

/* Makes the default listener (the one `port`, `bind_address` and listener options outside a
 * listener section configure) the current listener, creating it if needed. 0 or TERN_ENOMEM. */
int config_parse_default_listener(struct config_parser *p, const struct config_line *l);

/* Records "FILE:LINE: <message> ('<option>')" as an error. Returns TERN_ECONFIG, or TERN_ENOMEM
 * when the message itself cannot be stored. */
int config_parse_error(struct config_parser *p, const struct config_line *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records "FILE:LINE: <message>" as a warning. Returns 0 or TERN_ENOMEM. */
int config_parse_warn(struct config_parser *p, const struct config_line *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends an already formatted message (takes ownership of msg; frees it on failure). */
int config_parse_add_warning(struct config_parser *p, char *msg);

/* Token helpers. */
bool config_tok_eq(struct config_tok t, const char *s);
/* Strict decimal integer with optional sign; false on anything else or overflow. */
bool config_tok_int(struct config_tok t, int64_t *out);
/* NUL-terminated copy, NULL on out of memory. */
char *config_tok_dup(struct config_tok t);

#endif
