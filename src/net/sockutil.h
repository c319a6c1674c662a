/* Small socket helpers shared by the listener and transports: descriptor flags and printable
 * socket addresses. No I/O on the socket's data. */
#ifndef TERN_NET_SOCKUTIL_H
#define TERN_NET_SOCKUTIL_H

#include <stddef.h>

struct sockaddr;

/* Sets or clears O_NONBLOCK. Returns 0 or TERN_ESYS. */
int sockutil_set_nonblock(int fd, int on);
/* Sets TCP_NODELAY. Returns 0 or TERN_ESYS. */
int sockutil_set_nodelay(int fd);
/* Writes "1.2.3.4:5678", "[::1]:5678" (an IPv4-mapped IPv6 address is shown as IPv4), "unix"
 * or "?" for other families into out (size outlen, always NUL-terminated when outlen > 0).
 * Returns out. */
char *sockutil_format_addr(const struct sockaddr *sa, char *out, size_t outlen);
/* Writes "prefix: strerror(err)" into out (size outlen); no-op when out is NULL or outlen 0. */
void sockutil_errmsg(char *out, size_t outlen, const char *prefix, int err);

#endif
