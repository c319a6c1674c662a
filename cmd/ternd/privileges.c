/* The `user` option: switch from root to an unprivileged user once everything that needs root
 * is open. Fails loudly rather than run as root by accident; it does not chroot or drop
 * capabilities of a non-root start. */
#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* The account the ids come from; name copied, so later getpw* calls cannot overwrite it. */
struct account {
    char name[256];
    uid_t uid;
    gid_t gid;
};

static bool lookup(const char *name, struct account *a)
{
    errno = 0;
    const struct passwd *pw = getpwnam(name);
    if (!pw || strlen(pw->pw_name) >= sizeof a->name)
        return false;
    snprintf(a->name, sizeof a->name, "%s", pw->pw_name);
    a->uid = pw->pw_uid;
    a->gid = pw->pw_gid;
    return true;
}

/* Resolves the configured user, with Mosquitto's fallback for its default account. */
static int resolve(const char *user, struct account *a, struct log *lg)
{
    if (lookup(user, a))
        return 0;
    if (strcmp(user, "mosquitto") != 0) {
        log_msg(lg, TLOG_ERR,
                "Error: unable to drop privileges to '%s': no such user. Create it, or set "
                "`user` to an existing account (`user root` keeps root).",
                user);
        return TERN_ENOTFOUND;
    }
    log_msg(lg, TLOG_WARN,
            "Warning: unable to drop privileges to 'mosquitto' because this user does not "
            "exist. Trying 'nobody' instead.");
    if (lookup("nobody", a))
        return 0;
    log_msg(lg, TLOG_ERR,
            "Error: unable to drop privileges: neither 'mosquitto' nor 'nobody' "
            "exists. Set `user` to an existing account.");
    return TERN_ENOTFOUND;
}

/* The switch itself; groups first, while we may still change them. */
static int become(const struct account *a, struct log *lg)
{
    const char *step = "initgroups";
    if (initgroups(a->name, a->gid) != 0)
        goto fail;
    step = "setgid";
    if (setgid(a->gid) != 0)
        goto fail;
    step = "setuid";
    if (setuid(a->uid) != 0)
        goto fail;
    step = "check";
    errno = 0;
    if (getuid() != a->uid || geteuid() != a->uid || getgid() != a->gid || getegid() != a->gid)
        goto fail;
    /* The drop must be irreversible: getting root back has to fail. */
    if (setuid(0) == 0 || seteuid(0) == 0) {
        errno = 0;
        goto fail;
    }
    return 0;
fail:
    log_msg(lg, TLOG_ERR,
            "Error: unable to drop privileges to '%s' (uid %u, gid %u): %s failed%s%s", a->name,
            (unsigned)a->uid, (unsigned)a->gid, step, errno ? ": " : "",
            errno ? strerror(errno) : "");
    return TERN_ESYS;
}

int privileges_drop(const char *user, struct log *lg)
{
    if (geteuid() != 0) {
        log_msg(lg, TLOG_INFO, "Not running as root: the `user` option is not used.");
        return 0;
    }
    if (!user || !*user || strcmp(user, "root") == 0) {
        log_msg(lg, TLOG_WARN, "Warning: running as root (`user root`).");
        return 0;
    }
    struct account a;
    int rc = resolve(user, &a, lg);
    if (rc != 0)
        return rc;
    if (a.uid == 0) {
        log_msg(lg, TLOG_WARN, "Warning: user '%s' is uid 0: running as root.", a.name);
        return 0;
    }
    rc = become(&a, lg);
    if (rc == 0)
        log_msg(lg, TLOG_NOTICE, "Dropped privileges to user '%s' (uid %u, gid %u).", a.name,
                (unsigned)a.uid, (unsigned)a.gid);
    return rc;
}
