/* Listener and transport tests (test_net_io.c) and helpers shared with test_net.c. */
#ifndef TERN_TESTS_NET_IO_H
#define TERN_TESTS_NET_IO_H

#include <stdint.h>

#define NET_TEST_WAIT_MS 10000

/* poll() for readability up to NET_TEST_WAIT_MS; 0 when readable, -1 otherwise. */
int net_test_wait_readable(int fd);
/* A non-blocking, close-on-exec AF_UNIX stream socketpair; 0 or -1. */
int net_test_make_pair(int sv[2]);
/* A blocking TCP socket connected to host (a literal of family) and port; fd or -1. */
int net_test_connect(int family, const char *host, uint16_t port);

void test_listener_tcp_v4_v6(void);
void test_listener_dual_stack_any(void);
void test_listener_reuseport(void);
void test_listener_unix(void);
void test_transport_tcp_rw(void);
void test_transport_epipe_no_sigpipe(void);
void test_transport_full_buffer(void);
void test_sockutil(void);

#endif
