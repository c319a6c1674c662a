/* The integration-test broker spawner. It starts the real `ternd` (env TERND, else the path
 * compiled in as TERND_PATH) with a temporary config listening on an ephemeral 127.0.0.1 port and
 * waits, bounded, for its ready file; with env TERN_TEST_BROKER=mosquitto it starts
 * /usr/sbin/mosquitto on a free port instead, to validate the tests against a reference broker.
 * It does not speak MQTT (see tclient.h). One broker per test; not thread-safe. */
#ifndef TERN_TESTS_SPAWNER_H
#define TERN_TESTS_SPAWNER_H

#include <stddef.h>

struct spawner;

/* Overall bound of the start and stop waits, in milliseconds. */
#define SPAWNER_WAIT_MS 10000

/* Start a broker whose config is `listener 0 127.0.0.1` (or the free port for Mosquitto),
 * `allow_anonymous true` and then `extra_conf` (mosquitto.conf lines, may be NULL; for Mosquitto
 * `worker_threads` lines are left out, as it has no such option). The ternd
 * binary is env TERND if set, else `ternd_path` (may be NULL). Returns the running broker, or
 * NULL after printing why (with the broker's output) on failure or timeout. A broker still
 * running from an earlier test that returned early is stopped first. */
struct spawner *spawner_start_path(const char *ternd_path, const char *extra_conf);

/* spawner_start_path with the path the test binary was compiled with (-DTERND_PATH=...). */
static inline struct spawner *spawner_start(const char *extra_conf)
{
#ifdef TERND_PATH
    return spawner_start_path(TERND_PATH, extra_conf);
#else
    return spawner_start_path(NULL, extra_conf);
#endif
}

/* The TCP port the broker listens on. */
int spawner_port(const struct spawner *b);

/* Stop with SIGTERM, wait (bounded) for the exit, remove the temporary directory and free b.
 * Returns 0 when the broker exited with status 0; -1 otherwise (non-zero status, signal, or no
 * exit in time: then SIGKILL), after printing the status and the broker's stderr. An ASan or
 * UBSan report makes ternd's status non-zero, so it fails the calling test. NULL is a no-op
 * returning 0. */
int spawner_stop(struct spawner *b);

/* Whether the tests run against Mosquitto (TERN_TEST_BROKER=mosquitto). */
int spawner_is_mosquitto(void);

/* ---- Additions for the integration suites 12..16 (ternd only: they read ternd's ready file
 * or run the ternd binary; with Mosquitto they fail or return -1). ---- */

/* As spawner_start_path, with `extra_args` (NULL-terminated, may be NULL) appended to ternd's
 * command line after `-c CONF --ready-file READY`. */
struct spawner *spawner_start_args(const char *ternd_path, const char *extra_conf,
                                   const char *const *extra_args);

/* The broker's process id. */
int spawner_pid(const struct spawner *b);
/* Send signal `sig` to the broker; 0 or -1. */
int spawner_signal(const struct spawner *b, int sig);
/* Rewrite the broker's config file as spawner_start did, with a new `extra_conf` (for a SIGHUP
 * reload); 0 or -1. */
int spawner_rewrite_conf(struct spawner *b, const char *extra_conf);
/* The port of the n-th (0-based) TCP listener line `mqtt ADDRESS PORT` of the ready file, or -1.
 * Unix socket lines are not counted. */
int spawner_listener_port(const struct spawner *b, int n);
/* The same for the n-th `ws ADDRESS PORT` line (a `protocol websockets` listener), or -1. */
int spawner_ws_port(const struct spawner *b, int n);
/* Copy the path of the first `mqtt unix PATH` ready-file line into out; 0 or -1. */
int spawner_unix_path(const struct spawner *b, char *out, size_t cap);
/* Wait until the broker's output (stdout and stderr) contains `text`, bounded by timeout_ms
 * (inotify on the output file, no sleeps). 0 when found, -1 on timeout. */
int spawner_wait_output(const struct spawner *b, const char *text, int timeout_ms);
/* Whether the file at path holds `text` (its first 1 MiB; 1 or 0, 0 when unreadable). */
int spawner_file_has(const char *path, const char *text);
/* Whether the broker's output holds `text` now (1 or 0; no wait, nothing printed). */
int spawner_output_has(const struct spawner *b, const char *text);

/* Start ternd as a service manager would: `ternd -c conf` exactly (no --ready-file, no config
 * of the spawner's), NOTIFY_SOCKET in its environment, and ready when it sends "READY=1" there
 * (sd_notify protocol), bounded by SPAWNER_WAIT_MS. The caller says which TCP port the file makes
 * it listen on (spawner_port returns it). With TERN_TEST_BROKER=mosquitto it runs
 * /usr/sbin/mosquitto the same way. NULL after printing why. */
struct spawner *spawner_start_file(const char *ternd_path, const char *conf, int port);
/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed), for a config
 * file that must name its port; -1 on failure. */
int spawner_free_port(void);
/* For a spawner_start_file broker: wait until a NOTIFY_SOCKET datagram holds the line `state`
 * (e.g. "RELOADING=1"), bounded by timeout_ms; 0, or -1 (timeout or exit). */
int spawner_wait_notify(const struct spawner *b, const char *state, int timeout_ms);

/* Run the ternd binary (env TERND, else ternd_path) to completion with `args` (NULL-terminated,
 * argv[0] excluded), stdin from /dev/null, stdout and stderr together into out (NUL-terminated,
 * truncated to cap - 1), bounded by SPAWNER_WAIT_MS (then SIGKILL). Returns the exit status
 * (0..255), or -1 when the run failed, was killed or timed out (printed). */
int spawner_run_path(const char *ternd_path, const char *const *args, char *out, size_t cap);

/* spawner_run_path with the compiled-in TERND_PATH. */
static inline int spawner_run(const char *const *args, char *out, size_t cap)
{
#ifdef TERND_PATH
    return spawner_run_path(TERND_PATH, args, out, cap);
#else
    return spawner_run_path(NULL, args, out, cap);
#endif
}

#endif
