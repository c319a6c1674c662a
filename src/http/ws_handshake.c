/* RFC 6455 section 4.2 server handshake checks and the accept key (SHA-1 via OpenSSL). The MQTT
 * subprotocol rule is MQTT 5.0 section 6 / 3.1.1 section 6: the server selects "mqtt" (or the
 * 3.1 name "mqttv3.1") [MQTT-6.0.0-4]. Nothing here touches sockets. */
#include "ws_handshake.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "http_auth.h"
#include "http_request.h"
#include "http_response.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

bool ws_handshake_origin_ok(const struct http_request *req, const char *allowed)
{
    const char *origin = http_request_header(req, "Origin");
    if (!allowed || !origin)
        return true;
    size_t n = strlen(origin);
    for (const char *p = allowed; *p;) {
        p += strspn(p, " \t,");
        size_t k = strcspn(p, " \t,");
        if (k == n && k > 0 && strncasecmp(p, origin, n) == 0)
            return true;
        p += k;
    }
    return false;
}

bool ws_handshake_is_upgrade(const struct http_request *req)
{
    const char *up = http_request_header(req, "Upgrade");
    return up != NULL && http_request_has_token(up, "websocket");
}

void ws_handshake_accept_key(const char *key, char out[WS_ACCEPT_LEN])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    out[0] = '\0';
    if (ctx == NULL)
        return;
    if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
        EVP_DigestUpdate(ctx, WS_GUID, sizeof WS_GUID - 1) == 1 &&
        EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == SHA_DIGEST_LENGTH)
        EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
    EVP_MD_CTX_free(ctx);
}

/* Picks the first of the client's offered subprotocols that is MQTT's, in the client's order
 * of preference. */
static const char *pick_proto(const char *offered)
{
    static const char *const known[] = {"mqtt", "mqttv3.1"};
    const char *p = offered;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        for (size_t i = 0; i < 2; i++)
            if ((size_t)(e - p) == strlen(known[i]) &&
                strncasecmp(p, known[i], (size_t)(e - p)) == 0)
                return known[i];
        p = e;
    }
    return NULL;
}

static int refuse(struct http_response *resp, int status, const char *why)
{
    http_response_error(resp, status, why);
    resp->close_after = true;
    return resp->err ? resp->err : TERN_EPROTO;
}

int ws_handshake_accept(const struct http_request *req, struct http_response *resp,
                        const char **proto)
{
    *proto = NULL;
    if (strcmp(req->method, "GET") != 0)
        return refuse(resp, 405, "websocket upgrade needs GET");
    const char *conn = http_request_header(req, "Connection");
    if (req->version_minor < 1 || conn == NULL || !http_request_has_token(conn, "upgrade"))
        return refuse(resp, 400, "not a websocket upgrade");
    const char *ver = http_request_header(req, "Sec-WebSocket-Version");
    if (ver == NULL || strcmp(ver, "13") != 0) {
        refuse(resp, 426, "unsupported websocket version");
        http_response_header(resp, "Sec-WebSocket-Version", "13");
        return resp->err ? resp->err : TERN_EPROTO;
    }
    const char *key = http_request_header(req, "Sec-WebSocket-Key");
    unsigned char raw[20];
    if (key == NULL || http_auth_base64_decode(key, strlen(key), raw, sizeof raw) != 16)
        return refuse(resp, 400, "bad Sec-WebSocket-Key");
    /* The client offers "mqtt" [MQTT-6.0.0-3]; we select and return it [MQTT-6.0.0-4]. */
    const char *offered = http_request_header(req, "Sec-WebSocket-Protocol");
    if (offered != NULL && (*proto = pick_proto(offered)) == NULL)
        return refuse(resp, 400, "no MQTT websocket subprotocol offered");
    char accept[WS_ACCEPT_LEN];
    ws_handshake_accept_key(key, accept);
    if (accept[0] == '\0')
        return refuse(resp, 500, "cannot compute the accept key");
    http_response_reset(resp);
    resp->status = 101;
    http_response_header(resp, "Upgrade", "websocket");
    http_response_header(resp, "Connection", "Upgrade");
    http_response_header(resp, "Sec-WebSocket-Accept", accept);
    if (*proto != NULL)
        http_response_header(resp, "Sec-WebSocket-Protocol", *proto);
    return resp->err;
}
