/* Dropping root privileges after start-up, as Mosquitto 2 does with its `user` option. It only
 * switches user and group; it does not decide when (main.c does: after the listeners, log file,
 * pid file and TLS contexts, before the store, the worker threads and the ready file). */
#ifndef TERN_TERND_PRIVILEGES_H
#define TERN_TERND_PRIVILEGES_H

#include "err.h"

struct log;

/* When the effective uid is 0 and `user` is not "root" (nor a name for uid 0), switches to that
 * user: initgroups, setgid, setuid, in that order, then checks that real and effective ids are
 * the user's and that setuid(0) now fails. A missing "mosquitto" user (the default) falls back
 * to "nobody" with a warning; any other missing user is an error. Not root: does nothing (one
 * info line). Returns 0, or TERN_ENOTFOUND / TERN_ESYS after logging why at error level. Call it
 * from the main thread; the kernel change applies to every thread (glibc setxid). */
TERN_MUST_CHECK int privileges_drop(const char *user, struct log *lg);

#endif
