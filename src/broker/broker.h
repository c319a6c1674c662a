/* The broker: configuration, the shared routing state (subscription tree, retained store,
 * session registry), the workers (one thread and event loop per core) and the counters behind
 * $SYS. broker_* functions other than the counters are called from the main thread only. */
#ifndef TERN_BROKER_BROKER_H
#define TERN_BROKER_BROKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "log.h"

struct config;
struct store;
struct listener_auth;
struct retired;
struct tls_ctx;
struct tls_files_stamp;
struct listener_conf;
struct session;
struct worker;

/* A configured listener at run time: its settings and its live connection count. */
struct listener_rt {
    /* Its settings: broker_reload swaps in the matching listener of a reloaded configuration
     * (which stays alive, like b->cfg's old ones, until broker_free). Readers just
     * dereference it; a connection that must keep one value for its life copies it. */
    const struct listener_conf *_Atomic conf;
    _Atomic int connections;
    uint16_t port; /* bound port (TCP) */
    /* Security in force (security.c): swapped atomically, read without locks. */
    struct tls_ctx *_Atomic tls;
    struct listener_auth *_Atomic auth;
    struct tls_files_stamp *tls_stamp;
};

struct broker_stats {
    _Atomic uint64_t clients_connected;
    _Atomic uint64_t clients_maximum;
    _Atomic uint64_t subscriptions;
    _Atomic uint64_t connections_refused;
};

struct sys_state;
struct broker_log;

struct broker {
    /* The configuration in force. Reload swaps the pointer; old ones stay alive (listeners
     * point into them) until broker_free. Readers just dereference it. */
    struct config *_Atomic cfg;
    struct config **old_cfgs;
    size_t n_old_cfgs;
    struct sys_state *sys;
    struct store *store;     /* durable store, NULL when persistence is off */
    int store_fsync;         /* enum store_fsync in force */
    bool loading;            /* replaying the store: no store writes */
    unsigned polls;          /* broker_poll calls, main thread only */
    struct retired *retired; /* replaced security objects, freed by security_free */
    pthread_mutex_t retire_lock;
    struct log *log;
    struct broker_log *log_topic; /* log_dest topic's queue (broker_log.h), from broker_start */
    unsigned n_workers;
    struct worker **workers;
    struct listener_rt *listeners;
    size_t n_listeners;
    struct topic_tree *tree;
    struct retain *retain;
    struct broker_stats stats;
    _Atomic uint64_t next_session_id;
    _Atomic uint64_t next_auto_id;
    uint64_t start_mono_ms;
    int64_t start_wall_s;

    pthread_mutex_t reg_lock; /* guards the registry below */
    struct session **reg;     /* open-addressing hash by client id */
    size_t reg_cap, reg_len;
};

/* Builds a broker for cfg (taken over, also on failure), binds every listener and builds the
 * TLS contexts and password/ACL databases; logs through log. It opens no store and starts no
 * thread, so the caller may drop privileges before broker_start. Returns NULL and logs why on
 * failure. */
struct broker *broker_new(struct config *cfg, struct log *log);
/* Opens the store (persistence), replays it, then starts the worker threads. */
TERN_MUST_CHECK int broker_start(struct broker *b);
/* For the in-memory broker (broker_mem.h): as broker_new, but no listener is bound (their
 * struct listener_rt exist, for connections attached by hand). */
struct broker *broker_new_unbound(struct config *cfg, struct log *log);
/* Opens the store like broker_start but starts no thread: the caller's thread drives the
 * workers (worker_run_once). Stop with broker_mem_free's sequence, not broker_stop. */
void broker_start_inline(struct broker *b);
/* Writes "mqtt ADDRESS PORT" lines for every bound listener to path, atomically. */
int broker_write_ready_file(const struct broker *b, const char *path);
/* Disconnects every client (v5: DISCONNECT 0x8B), stops and joins the workers. */
void broker_stop(struct broker *b);
void broker_free(struct broker *b);
/* Applies the settings of a newly loaded configuration that can change without dropping
 * clients (limits, logging, retained caps, and each listener's settings: allow_anonymous,
 * max_qos, max_topic_alias, auto_id_prefix...). A listener of cfg takes over from the running
 * one bound to the same address, port (or unix path) and protocol; its sockets and its
 * mount_point stay as they are. Listeners added or removed take effect at the next restart.
 * Takes ownership of cfg. */
void broker_reload(struct broker *b, struct config *cfg);
/* Periodic housekeeping from the main thread: TLS files changed on disk are reloaded. */
void broker_poll(struct broker *b);

/* Registry: client id -> session. The registry holds one reference per entry. */
/* Returns the session with a new reference, or NULL. */
struct session *registry_get(struct broker *b, const char *client_id, size_t len);
/* Puts s under its client id, replacing (and returning, with the registry's reference) any
 * previous session; *old gets NULL when there was none. TERN_ENOMEM. */
TERN_MUST_CHECK int registry_put(struct broker *b, struct session *s, struct session **old);
/* Removes s if it is still the session registered under its id; drops the registry's reference
 * and returns true in that case. */
bool registry_remove(struct broker *b, struct session *s);
size_t registry_count(struct broker *b);

#endif
