/* Listening sockets: TCP (IPv4, IPv6, dual-stack, SO_REUSEPORT for one socket per worker) and
 * Unix stream sockets, plus accept. Every descriptor made here is non-blocking and close-on-exec.
 * Does not register anything with a loop and knows nothing of the protocol spoken. */
#ifndef TERN_NET_LISTENER_H
#define TERN_NET_LISTENER_H

#include <stddef.h>
#include <stdint.h>

/* Opens a listening TCP socket (SO_REUSEADDR, backlog 1024).
 * address: NULL = any address: "::" with IPV6_V6ONLY off (dual-stack) for AF_UNSPEC (falling back
 *   to 0.0.0.0 when the host has no IPv6), 0.0.0.0 for AF_INET, "::" v6-only for AF_INET6;
 *   otherwise an IPv4/IPv6 literal (brackets allowed: "[::1]") or a host name resolved with
 *   getaddrinfo, first result of `domain` taken. An AF_INET6 socket is v6-only exactly when
 *   domain is AF_INET6.
 * port: 0 = ephemeral. reuseport: non-zero sets SO_REUSEPORT, so each worker can bind its own
 *   socket to the same port (every socket sharing the port must set it).
 * Returns the fd, or TERN_EINVAL (bad argument), TERN_ENOTFOUND (name does not resolve) or
 * TERN_ESYS (socket/bind/listen failed). *bound_port (if non-NULL) gets the actual port. On
 * failure err_msg (if non-NULL, size errlen) gets a reason such as
 * "127.0.0.1:1883: Address already in use". */
int listener_open_tcp(const char *address, uint16_t port, int domain, int reuseport,
                      uint16_t *bound_port, char *err_msg, size_t errlen);

/* bind_interface (Mosquitto): restricts the listening TCP socket fd to network device `device`
 * with SO_BINDTODEVICE, so only connections arriving through it are accepted. Returns fd; on
 * failure closes fd, writes "bind_interface DEVICE (port N): reason" to err_msg (if non-NULL) and
 * returns TERN_ENOTFOUND (no such device) or TERN_ESYS (e.g. not permitted). */
int listener_bind_device(int fd, const char *device, char *err_msg, size_t errlen);

/* Opens a listening Unix stream socket at path (backlog 1024). An existing socket file that no
 * one listens on (stale) is unlinked first; a live socket or any other kind of file at path is
 * an error and is left alone. The socket file is not removed when the fd is closed. Returns the
 * fd, TERN_EINVAL (path empty or too long) or TERN_ESYS, with err_msg as above. */
int listener_open_unix(const char *path, char *err_msg, size_t errlen);

/* Accepts one connection from listening socket lfd (accept4, non-blocking and close-on-exec;
 * TCP_NODELAY set on TCP). Connections aborted before accept are skipped. Returns the fd,
 * TERN_EAGAIN when none is pending, or TERN_ESYS (e.g. out of descriptors: the pending
 * connection stays queued and the listener stays readable). peer (if non-NULL, size peerlen)
 * gets "1.2.3.4:5678", "[::1]:5678" or "unix". */
int listener_accept(int lfd, char *peer, size_t peerlen);

#endif
