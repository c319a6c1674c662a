/* The OpenAPI 3 document of the REST API (http_api.c), served at /api/v1/openapi.json. Only
 * the text: keeping it next to the handlers' code is how it stays true. */
#ifndef TERN_BROKER_HTTP_API_DOC_H
#define TERN_BROKER_HTTP_API_DOC_H

struct http_response;

/* Appends the document (JSON) to r's body. Returns 0 or TERN_ENOMEM (also in r->err). */
int http_api_doc_append(struct http_response *r);

#endif
