/* Static files from a directory (Mosquitto's http_dir): a router handler that maps the request
 * path below a mount prefix to a regular file under the root, refusing "..", hidden dot-segments
 * and anything that resolves outside the root (symlinks included), with a Content-Type from the
 * extension. Files are read whole and synchronously, up to a size cap. */
#ifndef TERN_HTTP_HTTP_DIR_H
#define TERN_HTTP_HTTP_DIR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct http_request;
struct http_response;
struct http_dir;

/* root must be an existing directory; mount is the URL prefix it serves ("/" or "/dash/");
 * max_file_len caps one file (larger: 403). Returns 0, TERN_ENOTFOUND (no such directory),
 * TERN_EINVAL or TERN_ENOMEM. */
TERN_MUST_CHECK int http_dir_new(const char *root, const char *mount, size_t max_file_len,
                                 struct http_dir **out);
/* Accepts NULL. */
void http_dir_free(struct http_dir *d);

/* The handler (ctx = struct http_dir *): GET/HEAD only (else 405); a path ending in '/' serves
 * its index.html; 404 when missing, 403 when refused, 200 with Content-Type otherwise. */
void http_dir_handle(const struct http_request *req, struct http_response *resp, void *ctx);

/* The Content-Type for a file name by extension; "application/octet-stream" when unknown. */
const char *http_dir_content_type(const char *name);

/* Whether a decoded URL path is safe to map below a root: starts with '/', has no "." or ".."
 * segment, no hidden (dot-leading) segment, no backslash, no NUL, no empty segment ("//"). */
bool http_dir_path_ok(const char *path);

#endif
