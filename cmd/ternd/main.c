/* ternd: command line -> configuration -> broker -> wait for signals. Mosquitto's flags
 * (-c -p -v -d --test-config -h) plus --ready-file for supervisors and tests, and the
 * sd_notify readiness protocol when a service manager sets NOTIFY_SOCKET. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "notify.h"
#include "privileges.h"

struct args {
    const char *config_file;
    const char *ready_file;
    int ports[16];
    int n_ports;
    bool verbose;
    bool daemonize;
    bool test_config;
};

static void usage(FILE *f)
{
    fprintf(f,
            "ternd version %s\n\n"
            "ternd is an MQTT 3.1, 3.1.1 and 5.0 broker.\n\n"
            "Usage: ternd [-c config_file] [-d] [-h] [-p port] [-v] [--test-config]\n"
            "             [--ready-file path]\n\n"
            " -c : read the configuration from a file (mosquitto.conf syntax). With no -c,\n"
            "      listen on 127.0.0.1 and ::1 port 1883 only, anonymous clients allowed.\n"
            " -d : run in the background as a daemon.\n"
            " -h : display this help.\n"
            " -p : listen on this port instead of 1883 (repeatable). With -c, adds to it.\n"
            " -v : verbose: log every message type (same as log_type all).\n"
            " --test-config : check the configuration file and exit.\n"
            " --ready-file path : once every listener is bound, write 'mqtt ADDRESS PORT'\n"
            "      lines to path (atomically), one per listener.\n"
            " --version : print the version and exit.\n",
            TERN_VERSION);
}

/* Returns 0 to continue, 1 to exit successfully, -1 on a usage error. */
static int parse_args(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has_next = i + 1 < argc;
        if (!strcmp(o, "-c") || !strcmp(o, "--config-file")) {
            if (!has_next)
                goto missing;
            a->config_file = argv[++i];
        } else if (!strcmp(o, "-p") || !strcmp(o, "--port")) {
            if (!has_next)
                goto missing;
            char *end;
            long p = strtol(argv[++i], &end, 10);
            if (*end || p < 1 || p > 65535) {
                fprintf(stderr, "Error: invalid port given: %s\n", argv[i]);
                return -1;
            }
            if (a->n_ports < 16)
                a->ports[a->n_ports++] = (int)p;
        } else if (!strcmp(o, "--ready-file")) {
            if (!has_next)
                goto missing;
            a->ready_file = argv[++i];
        } else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) {
            a->verbose = true;
        } else if (!strcmp(o, "-d") || !strcmp(o, "--daemon")) {
            a->daemonize = true;
        } else if (!strcmp(o, "--test-config")) {
            a->test_config = true;
        } else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(o, "--version")) {
            printf("ternd version %s\n", TERN_VERSION);
            return 1;
        } else {
            fprintf(stderr, "Error: unknown option '%s'.\n", o);
            usage(stderr);
            return -1;
        }
        continue;
    missing:
        fprintf(stderr, "Error: %s argument given but no value specified.\n", o);
        return -1;
    }
    return 0;
}

static struct config *load_config(const struct args *a, struct log *lg)
{
    struct config *cfg = NULL;
    struct config_diag diag = {0};
    int rc = a->config_file ? config_load_file(a->config_file, &cfg, &diag) : config_defaults(&cfg);
    for (size_t i = 0; i < diag.warning_count; i++)
        log_msg(lg, TLOG_WARN, "Warning: %s", diag.warnings[i]);
    for (size_t i = 0; i < diag.error_count; i++)
        log_msg(lg, TLOG_ERR, "Error: %s", diag.errors[i]);
    config_diag_free(&diag);
    if (rc != 0) {
        if (diag.error_count == 0)
            log_msg(lg, TLOG_ERR, "Error: unable to load the configuration (%s).",
                    tern_strerror(rc));
        config_free(cfg);
        return NULL;
    }
    for (int i = 0; i < a->n_ports; i++) {
        if (config_set_cli_port(cfg, (uint16_t)a->ports[i]) != 0) {
            config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

/* Logging settings from cfg. The log file is opened once, at start (first == true): other
 * threads may be writing to it, so a reload keeps it and says so if the file changed. */
static void apply_logging(struct log *lg, const struct config *cfg, bool verbose, bool first)
{
    atomic_store(&lg->levels, verbose ? TLOG_ALL_LEVELS : cfg->log_type);
    atomic_store(&lg->timestamps, cfg->log_timestamp);
    if (log_set_timestamp_format(lg, cfg->log_timestamp_format) != 0)
        log_msg(lg, TLOG_WARN, "Warning: out of memory setting log_timestamp_format.");
    unsigned dests = cfg->log_dest;
    /* log_facility; glibc's openlog and syslog share a lock, so a reload may reopen. */
    if (dests & LOG_DEST_SYSLOG)
        log_open_syslog("ternd", cfg->log_facility);
    if (first && (dests & LOG_DEST_FILE) && cfg->log_file) {
        lg->file = fopen(cfg->log_file, "a");
        if (!lg->file) {
            dests = (dests & ~(unsigned)LOG_DEST_FILE) | LOG_DEST_STDERR;
            atomic_store(&lg->dests, dests);
            log_msg(lg, TLOG_ERR, "Error: unable to open log file %s: %s", cfg->log_file,
                    strerror(errno));
        }
    }
    if (!first && (dests & LOG_DEST_FILE) && !lg->file) {
        dests &= ~(unsigned)LOG_DEST_FILE;
        log_msg(lg, TLOG_WARN, "Warning: a new log file takes effect at the next restart.");
    }
    atomic_store(&lg->dests, dests);
}

static void write_pid_file(const char *path, struct log *lg)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        log_msg(lg, TLOG_ERR, "Error: unable to write pid file %s: %s", path, strerror(errno));
        return;
    }
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
}

/* Waits for signals: SIGHUP reloads, SIGTERM/SIGINT return. */
static void serve(struct broker *b, const struct args *a, struct log *lg, const sigset_t *set,
                  int notify)
{
    for (;;) {
        /* Wake every few seconds to notice certificate files replaced on disk. */
        struct timespec poll = {5, 0};
        int sig = sigtimedwait(set, NULL, &poll);
        if (sig < 0) {
            broker_poll(b);
            continue;
        }
        if (sig == SIGHUP) {
            log_msg(lg, TLOG_NOTICE, "Reloading config.");
            notify_send(notify, "RELOADING=1");
            struct config *cfg = load_config(a, lg);
            if (!cfg) {
                log_msg(lg, TLOG_ERR, "Error: reload failed; keeping the running configuration.");
                continue;
            }
            apply_logging(lg, cfg, a->verbose, false);
            broker_reload(b, cfg);
            notify_send(notify, "READY=1");
            continue;
        }
        notify_send(notify, "STOPPING=1");
        log_msg(lg, TLOG_NOTICE, "ternd version %s terminating", TERN_VERSION);
        return;
    }
}

int main(int argc, char **argv)
{
    struct args a = {0};
    int r = parse_args(argc, argv, &a);
    if (r != 0)
        return r > 0 ? 0 : 1;
    struct log lg;
    log_init(&lg);
    struct config *cfg = load_config(&a, &lg);
    if (!cfg)
        return 1;
    if (a.test_config) {
        printf("Configuration file is OK.\n");
        config_free(cfg);
        return 0;
    }
    apply_logging(&lg, cfg, a.verbose, true);
    /* Mosquitto's daemonise forks and calls setsid but keeps the working directory: relative
     * -c, pid_file, persistence_location and password paths (and SIGHUP's re-read of -c) go on
     * meaning what they meant when ternd was started. */
    if (a.daemonize && daemon(1, 0) != 0) {
        log_msg(&lg, TLOG_ERR, "Error: unable to daemonise: %s", strerror(errno));
        config_free(cfg);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_msg(&lg, TLOG_NOTICE, "ternd version %s starting", TERN_VERSION);
    if (a.config_file)
        log_msg(&lg, TLOG_NOTICE, "Config loaded from %s.", a.config_file);
    else
        log_msg(&lg, TLOG_NOTICE,
                "Using default config: local only mode, listening on "
                "127.0.0.1 and ::1 port 1883, anonymous access allowed.");
    char *pid_file = cfg->pid_file ? strdup(cfg->pid_file) : NULL;
    char *user = cfg->user ? strdup(cfg->user) : NULL;
    struct broker *b = broker_new(cfg, &lg); /* owns cfg from here on; binds, builds TLS */
    int rc = 1, notify = -1;
    if (!b)
        goto out;
    if (pid_file)
        write_pid_file(pid_file, &lg);
    const char *why;
    notify = notify_open(&why);
    if (why)
        log_msg(&lg, TLOG_WARN, "Warning: unable to reach the service manager's NOTIFY_SOCKET: %s",
                why);
    /* Root is needed for privileged ports, the log and pid files and the TLS keys, all open
     * now; the store, the worker threads and the ready file come after the drop, so they
     * belong to the unprivileged user (as with Mosquitto 2). */
    if (privileges_drop(user, &lg) != 0 || broker_start(b) != 0)
        goto out;
    if (a.ready_file && broker_write_ready_file(b, a.ready_file) != 0)
        log_msg(&lg, TLOG_ERR, "Error: unable to write ready file %s", a.ready_file);
    notify_send(notify, "READY=1"); /* every listener is bound and the workers run */
    serve(b, &a, &lg, &set, notify);
    broker_stop(b);
    rc = 0;
out:
    if (notify >= 0)
        close(notify);
    broker_free(b);
    if (pid_file && rc == 0)
        unlink(pid_file);
    free(pid_file);
    free(user);
    log_deinit(&lg);
    return rc;
}
