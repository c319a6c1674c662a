/* POST /api/v1/reload. Why the request is posted to the main thread instead of reloading here
 * under a mutex: the reload itself lives on the main thread (cmd/ternd/main.c: re-read the file
 * with the command line's -c and -p, apply logging, broker_reload), which is documented as main
 * thread only and takes no lock, so a second reloader on a worker would race it. Raising
 * SIGHUP hands the request to that one thread, serialising it with real signals (several
 * pending ones coalesce into one reload of the latest file) and keeping the worker's loop free.
 * The worker only parses the file first (a few milliseconds, no broker state touched), so the
 * caller learns at once, with FILE:LINE, why an invalid file would be refused. */
#include "http_api_reload.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "broker.h"
#include "config.h"
#include "http_api.h"
#include "http_request.h"
#include "http_response.h"
#include "log.h"
#include "mem.h"
#include "worker.h"

#define CMDLINE_MAX 65536

/* The -c / --config-file argument ternd was started with (the last one wins, as in main.c),
 * read from /proc/self/cmdline into buf; NULL when there is none. */
static const char *config_path(char *buf, size_t cap)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t len = 0;
    for (ssize_t n; len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0;)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    const char *path = NULL;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
        const char *a = buf + i;
        size_t next = i + strlen(a) + 1;
        if ((!strcmp(a, "-c") || !strcmp(a, "--config-file")) && next < len)
            path = buf + next;
    }
    return path;
}

/* Whether a thread is there to take SIGHUP: ternd blocks it everywhere and waits for it in
 * the main thread. Otherwise (a test embedding the broker) the signal would kill the process. */
static bool sighup_handled(void)
{
    sigset_t cur;
    return pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGHUP) == 1;
}

static bool add_strings(cJSON *o, const char *name, char *const *v, size_t n)
{
    cJSON *arr = cJSON_AddArrayToObject(o, name);
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *s = cJSON_CreateString(v[i]);
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return false;
        }
    }
    return arr != NULL;
}

/* 422 {"error":{"status":422,"message":FIRST,"errors":[...],"warnings":[...]}}. */
static cJSON *invalid_json(const char *path, const struct config_diag *d)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s is invalid, the running configuration is kept: %s", path,
             d->error_count ? d->errors[0] : "unknown error");
    cJSON *o = cJSON_CreateObject();
    cJSON *e = o ? cJSON_AddObjectToObject(o, "error") : NULL;
    if (e && cJSON_AddNumberToObject(e, "status", 422) &&
        cJSON_AddStringToObject(e, "message", msg) &&
        add_strings(e, "errors", d->errors, d->error_count) &&
        add_strings(e, "warnings", d->warnings, d->warning_count))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static cJSON *accepted_json(const char *path, const struct config_diag *d)
{
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "status", "reloading") &&
        cJSON_AddStringToObject(o, "config_file", path) &&
        cJSON_AddStringToObject(o, "message",
                                "configuration valid; the broker applies it as on SIGHUP") &&
        add_strings(o, "warnings", d->warnings, d->warning_count))
        return o;
    cJSON_Delete(o);
    return NULL;
}

void http_api_reload_post(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct http_api_ctx *ctx = arg;
    if (!http_api_authorize(ctx, req, resp))
        return;
    struct log *lg = ctx->w->b->log;
    char *buf = mem_alloc(CMDLINE_MAX);
    const char *path = buf ? config_path(buf, CMDLINE_MAX) : NULL;
    struct config *cfg = NULL;
    struct config_diag diag = {0};
    if (!buf) {
        resp->err = TERN_ENOMEM;
    } else if (!path) {
        http_response_error(resp, 409,
                            "ternd runs on its built-in defaults (no -c): "
                            "there is no configuration file to reload");
    } else if (!sighup_handled()) {
        http_response_error(resp, 503, "no thread of this process handles SIGHUP");
    } else {
        int rc = config_load_file(path, &cfg, &diag);
        if (rc == TERN_ENOMEM) {
            resp->err = rc;
        } else if (rc != 0) {
            log_msg(lg, TLOG_ERR, "Error: reload requested over HTTP refused: %s",
                    diag.error_count ? diag.errors[0] : tern_strerror(rc));
            http_api_reply(resp, 422, invalid_json(path, &diag));
        } else {
            log_msg(lg, TLOG_NOTICE, "Reload requested over HTTP by %s.", req->client_addr);
            kill(getpid(), SIGHUP);
            http_api_reply(resp, 202, accepted_json(path, &diag));
        }
    }
    config_free(cfg);
    config_diag_free(&diag);
    mem_free(buf);
}
