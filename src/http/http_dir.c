/* Static file serving: the URL path is checked segment by segment, joined to the root, resolved
 * with realpath and required to stay under the root's real path; the file is then read whole.
 * No directory listings, no ranges, no caching headers beyond Content-Type. */
#include "http_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_request.h"
#include "http_response.h"
#include "mem.h"

struct http_dir {
    char *root; /* real path, no trailing '/' (except "/" itself) */
    char *mount;
    size_t max_file_len;
};

int http_dir_new(const char *root, const char *mount, size_t max_file_len, struct http_dir **out)
{
    *out = NULL;
    if (mount == NULL || mount[0] != '/' || mount[strlen(mount) - 1] != '/')
        return TERN_EINVAL;
    char real[PATH_MAX];
    struct stat st;
    if (realpath(root, real) == NULL || stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
        return TERN_ENOTFOUND;
    struct http_dir *d = mem_calloc(1, sizeof *d);
    if (d == NULL)
        return TERN_ENOMEM;
    d->root = mem_strdup(real);
    d->mount = mem_strdup(mount);
    if (d->root == NULL || d->mount == NULL) {
        http_dir_free(d);
        return TERN_ENOMEM;
    }
    d->max_file_len = max_file_len;
    *out = d;
    return 0;
}

void http_dir_free(struct http_dir *d)
{
    if (d == NULL)
        return;
    mem_free(d->root);
    mem_free(d->mount);
    mem_free(d);
}

struct ctype {
    const char *ext;
    const char *type;
};

static const struct ctype ctypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"ico", "image/x-icon"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"wasm", "application/wasm"},
};

const char *http_dir_content_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot != NULL)
        for (size_t i = 0; i < sizeof ctypes / sizeof ctypes[0]; i++)
            if (strcasecmp(dot + 1, ctypes[i].ext) == 0)
                return ctypes[i].type;
    return "application/octet-stream";
}

bool http_dir_path_ok(const char *path)
{
    if (path == NULL || path[0] != '/' || strchr(path, '\\') != NULL)
        return false;
    for (const char *seg = path + 1; *seg;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        /* An empty segment is fine only as the final one ("/dir/" asks for its index). */
        if ((len == 0 && end != NULL) || (len > 0 && seg[0] == '.'))
            return false;
        if (end == NULL)
            break;
        seg = end + 1;
    }
    return true;
}

/* Reads the regular file at real (already checked to be under the root) into resp. */
static void send_file(const struct http_dir *d, const char *real, struct http_response *resp)
{
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (size_t)st.st_size > d->max_file_len) {
        http_response_error(resp, fd < 0 && errno == ENOENT ? 404 : 403, "not readable");
        goto out;
    }
    resp->status = 200;
    if (buf_reserve(&resp->body, (size_t)st.st_size + 1) != 0) {
        resp->err = TERN_ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, resp->body.data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    resp->body.len = got;
    http_response_header(resp, "Content-Type", http_dir_content_type(real));
out:
    if (fd >= 0)
        close(fd);
}

void http_dir_handle(const struct http_request *req, struct http_response *resp, void *ctx)
{
    const struct http_dir *d = ctx;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_response_error(resp, 405, "method not allowed");
        http_response_header(resp, "Allow", "GET, HEAD");
        return;
    }
    size_t ml = strlen(d->mount);
    if (!http_dir_path_ok(req->path) || strncmp(req->path, d->mount, ml - 1) != 0) {
        http_response_error(resp, 403, "forbidden path");
        return;
    }
    const char *rel = req->path + ml - 1; /* keeps the leading '/' */
    if (rel[0] != '\0' && rel[0] != '/') {
        http_response_error(resp, 404, "not found");
        return;
    }
    char full[PATH_MAX];
    char real[PATH_MAX];
    size_t rl = strlen(rel);
    const char *index = (rl == 0 || rel[rl - 1] == '/') ? "index.html" : "";
    int n = snprintf(full, sizeof full, "%s%s%s%s", d->root, rl && rel[0] == '/' ? "" : "/", rel,
                     index);
    if (n < 0 || (size_t)n >= sizeof full) {
        http_response_error(resp, 414, "path too long");
        return;
    }
    if (realpath(full, real) == NULL) {
        http_response_error(resp, errno == ENOENT || errno == ENOTDIR ? 404 : 403, "not found");
        return;
    }
    /* Symlinks may point anywhere: the resolved file must still be under the root. */
    size_t rootl = strlen(d->root);
    if (strncmp(real, d->root, rootl) != 0 || (real[rootl] != '/' && strcmp(d->root, "/") != 0)) {
        http_response_error(resp, 403, "outside the served directory");
        return;
    }
    send_file(d, real, resp);
}
