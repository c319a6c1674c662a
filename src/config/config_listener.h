/* Helpers for struct listener_conf inside the config module: create with defaults, deep copy,
 * free, append to a config's list. Not a public API of the broker; the parser uses it. */
#ifndef TERN_CONFIG_CONFIG_LISTENER_H
#define TERN_CONFIG_CONFIG_LISTENER_H

struct config;
struct listener_conf;

/* A listener with defaults (any address, port 1883, MQTT, every "-1 = not set" field at -1).
 * NULL on out of memory. */
struct listener_conf *config_listener_new(void);
/* Deep copy of src without its list link. NULL on out of memory. */
struct listener_conf *config_listener_dup(const struct listener_conf *src);
/* Frees l and its strings (not the rest of the list). Accepts NULL. */
void config_listener_free(struct listener_conf *l);
/* Appends l (takes ownership) at the end of c's list. */
void config_listener_append(struct config *c, struct listener_conf *l);
/* Unlinks l from c's list (does not free it). */
void config_listener_remove(struct config *c, struct listener_conf *l);

#endif
