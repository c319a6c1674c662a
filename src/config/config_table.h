/* The one const table of every recognised option (Mosquitto 2's mosquitto.conf(5) list plus
 * Tern's own), nginx ngx_command_t style: name, handler, scope, target field, range, argument
 * count, flags. Handlers validate and store one line's value. Internal to src/config. */
#ifndef TERN_CONFIG_CONFIG_TABLE_H
#define TERN_CONFIG_CONFIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct config_parser;
struct config_line;
struct config_option;

/* Where an option may appear and which object its field lives in. */
enum config_scope {
    SC_GLOBAL,        /* anywhere; field in struct config */
    SC_LISTENER,      /* current listener, else the default listener (made if needed) */
    SC_LISTENER_ONLY, /* only after a `listener` (or `port`/`bind_address`) line */
    SC_SECURITY,      /* global, or the current listener when per_listener_settings is true */
    SC_HYBRID,        /* current listener if any, else struct config */
    SC_BRIDGE,        /* only after `connection`; validated, not stored */
    SC_PLUGIN,        /* only after `plugin`/`auth_plugin`/`global_plugin`; not stored */
};

/* Type of the target field; FT_NONE = validate only. */
enum config_field {
    FT_NONE,
    FT_BOOL,
    FT_INT,
    FT_UINT,
    FT_U8,
    FT_U16,
    FT_U32,
    FT_U64,
    FT_I64,
    FT_STR,
};

enum config_flag {
    OF_UNSUPPORTED = 1 << 0,   /* warn "not supported yet and is ignored" */
    OF_OBSOLETE = 1 << 1,      /* warn "obsolete ... ignored" (no-op in Mosquitto 2 too) */
    OF_PREFIX = 1 << 2,        /* name is a prefix (auth_opt_*, plugin_opt_*) */
    OF_REST = 1 << 3,          /* the value is the rest of the line (may contain spaces) */
    OF_NEG_ZERO = 1 << 4,      /* a negative number means 0 (Mosquitto's clamp) */
    OF_NEG_UNLIMITED = 1 << 5, /* a negative number means -1 (unlimited) */
    OF_SECURITY = 1 << 6,      /* counts as a security option for per_listener_settings */
};

/* The resolved target of one line: a field of struct config or of the current listener, or
 * ptr NULL (type FT_NONE) when the value is only validated. */
struct config_dst {
    void *ptr;
    enum config_field type;
};

/* Validates and stores one line. Returns 0, TERN_ECONFIG (error recorded) or TERN_ENOMEM. */
typedef int (*config_option_fn)(struct config_parser *p, const struct config_option *o,
                                const struct config_line *l, struct config_dst dst);

struct config_option {
    const char *name;
    config_option_fn fn;
    enum config_scope scope;
    enum config_field type;  /* field in struct config */
    size_t off;              /* offset in struct config (when type != FT_NONE) */
    enum config_field ltype; /* field in struct listener_conf */
    size_t loff;             /* offset in struct listener_conf (when ltype != FT_NONE) */
    int64_t min, max;        /* numeric range */
    uint8_t min_args, max_args;
    unsigned flags;      /* enum config_flag */
    const char *choices; /* "a|b|c" for enumerated values */
};

/* The option named by key (exact, or by prefix for OF_PREFIX options); NULL if unknown. */
const struct config_option *config_table_find(const char *key, size_t len);
/* Iteration for tests and documentation checks: the i-th option or NULL past the end. */
const struct config_option *config_table_at(size_t i);

#endif
