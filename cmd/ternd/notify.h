/* The service manager's readiness protocol (systemd's sd_notify(3)): with `Type=notify` in a
 * unit, as Debian's mosquitto.service has, the manager waits for "READY=1" on the datagram socket
 * named by $NOTIFY_SOCKET. Written here rather than linked from libsystemd: the protocol is one
 * datagram of text, documented as stable for independent implementations, and ternd needs nothing
 * else from that library. */
#ifndef TERN_TERND_NOTIFY_H
#define TERN_TERND_NOTIFY_H

/* Connects to $NOTIFY_SOCKET (a path, or an abstract name written "@name") and returns the socket,
 * or -1 when the variable is unset (not started by a service manager) or the socket cannot be
 * reached (then `*why` says why; NULL otherwise). Call it before dropping privileges: the
 * permission check happens here, once. */
int notify_open(const char **why);

/* Sends `state` ("READY=1", "RELOADING=1", "STOPPING=1", ...) on fd; fd < 0 is a no-op. Errors
 * are ignored: a manager that went away must not stop the broker. */
void notify_send(int fd, const char *state);

#endif
