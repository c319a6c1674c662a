/* Response building: header lines, body bytes and JSON bodies through cJSON, with the first
 * error kept so handlers need not check each call. Serialization onto the wire is in
 * http_conn.c. */
#include "http_response.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

void http_response_init(struct http_response *r)
{
    r->status = 200;
    buf_init(&r->headers);
    buf_init(&r->body);
    r->err = 0;
    r->close_after = false;
    r->deferred = false;
}

void http_response_deinit(struct http_response *r)
{
    buf_deinit(&r->headers);
    buf_deinit(&r->body);
}

void http_response_reset(struct http_response *r)
{
    r->status = 200;
    buf_reset(&r->headers);
    buf_reset(&r->body);
    r->err = 0;
    r->close_after = false;
    r->deferred = false;
}

void http_response_defer(struct http_response *r)
{
    r->deferred = true;
}

static int fail(struct http_response *r, int err)
{
    if (r->err == 0)
        r->err = err;
    return err;
}

int http_response_header(struct http_response *r, const char *name, const char *value)
{
    if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL || *name == '\0')
        return fail(r, TERN_EINVAL);
    if (buf_append(&r->headers, name, strlen(name)) != 0 || buf_append(&r->headers, ": ", 2) != 0 ||
        buf_append(&r->headers, value, strlen(value)) != 0 ||
        buf_append(&r->headers, "\r\n", 2) != 0)
        return fail(r, TERN_ENOMEM);
    return 0;
}

int http_response_append(struct http_response *r, const void *data, size_t len)
{
    if (len && buf_append(&r->body, data, len) != 0)
        return fail(r, TERN_ENOMEM);
    return 0;
}

int http_response_set(struct http_response *r, int status, const char *content_type,
                      const void *body, size_t len)
{
    r->status = status;
    buf_reset(&r->body);
    if (content_type && http_response_header(r, "Content-Type", content_type) != 0)
        return r->err;
    return http_response_append(r, body, len);
}

int http_response_json(struct http_response *r, int status, const struct cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    if (text == NULL)
        return fail(r, TERN_ENOMEM);
    int rc = http_response_set(r, status, "application/json", text, strlen(text));
    cJSON_free(text);
    return rc;
}

int http_response_error(struct http_response *r, int status, const char *message)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    if (err == NULL || cJSON_AddNumberToObject(err, "status", status) == NULL ||
        cJSON_AddStringToObject(err, "message", message) == NULL) {
        cJSON_Delete(root);
        return fail(r, TERN_ENOMEM);
    }
    int rc = http_response_json(r, status, root);
    cJSON_Delete(root);
    return rc;
}

struct reason {
    int status;
    const char *text;
};

static const struct reason reasons[] = {
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
};

const char *http_response_reason(int status)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return "Unknown";
}
