/* Test fixture for the store: a temporary directory, a log and notify recorder with bounded
 * waits, message builders and a load recorder that prints every callback as one text line. */
#ifndef TERN_TESTS_STORE_FIXTURE_H
#define TERN_TESTS_STORE_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct msg;

struct fx {
    char dir[64];
    char path[128];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned n_errors;
    unsigned n_notify;
    char last_error[1024];
};

void fx_init(struct fx *f);
/* Removes the directory and everything in it. */
void fx_deinit(struct fx *f);
struct store *fx_open(struct fx *f, enum store_fsync mode, uint32_t interval_ms);
/* fx_open with store_opts.maint_ms. */
struct store *fx_open_maint(struct fx *f, enum store_fsync mode, uint32_t interval_ms,
                            uint32_t maint_ms);
/* Waits (at most timeout_ms) until at least n errors / notifies were seen. */
bool fx_wait_errors(struct fx *f, unsigned n, unsigned timeout_ms);
bool fx_wait_notify(struct fx *f, unsigned n, unsigned timeout_ms);
unsigned fx_errors(struct fx *f);
unsigned fx_notifies(struct fx *f);

/* A message; expiry_s 0 = none; with_props adds content type, correlation data and two user
 * properties. */
struct msg *fx_msg(const char *topic, const char *payload, uint8_t qos, uint32_t expiry_s,
                   bool with_props, uint64_t now_mono_ms);

/* Load recorder: text lines in order, and the message pointers seen by queued callbacks. */
struct fx_rec {
    char *text;
    size_t len, cap;
    const struct msg *queued[64];
    unsigned n_queued;
    int64_t seen[16];
    unsigned n_sessions;
    uint32_t remaining_s[64]; /* message expiry remaining of queued messages (0 = none) */
    uint64_t now_mono_ms;
};

extern const struct store_load_cb fx_rec_cb;
void fx_rec_free(struct fx_rec *r);
/* Loads s into a fresh recorder r; returns store_load's result. */
int fx_load(struct store *s, struct fx_rec *r, const struct store_now *now);

/* Entries in dir whose name starts with prefix, not counting -wal and -shm files; the first
 * name found goes to first (when non-NULL). */
int fx_count_prefix(const char *dir, const char *prefix, char *first, size_t firstlen);

#endif
