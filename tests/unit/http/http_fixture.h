/* Test fixture for the HTTP tests: a socketpair with the server end in an http_conn, a helper
 * that pumps the connection, and a raw client that reads what is available. Not a library. */
#ifndef TERN_TESTS_HTTP_FIXTURE_H
#define TERN_TESTS_HTTP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "http_conn.h"

struct fixture {
    int cli; /* the test's end, blocking with a 2 s receive timeout as a safety net */
    int srv; /* the server end, non-blocking */
    struct http_conn *c;
    struct http_router *router;
    struct http_conn_opts opts;
};

/* Sets up a socketpair, a router with /echo (any method: body and query echoed), /hello (GET),
 * /later (any method: deferred, see http_conn_resume) and the given options' defaults. Returns 0 or
 * -1. */
int fixture_init(struct fixture *f);
/* Creates the http_conn (after the test adjusted f->opts). */
int fixture_start(struct fixture *f);
void fixture_deinit(struct fixture *f);
/* Writes all of s to the client end. */
void fixture_send(struct fixture *f, const void *s, size_t len);
/* Runs on_io for read and write. */
enum http_conn_state fixture_pump(struct fixture *f);
/* Reads whatever the client end has now (non-blocking), NUL-terminated; returns the length. */
size_t fixture_recv(struct fixture *f, char *out, size_t cap);
/* Reads exactly len bytes from the client end (blocking); returns 0 or -1. */
int fixture_recv_exact(struct fixture *f, void *out, size_t len);
/* Number of non-overlapping occurrences of needle in hay. */
int count_str(const char *hay, const char *needle);

#endif
