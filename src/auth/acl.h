/* Mosquitto ACL files: "user NAME", "topic [read|write|readwrite|deny] FILTER" and
 * "pattern [read|write|readwrite|deny] FILTER" (with %c = client id, %u = username); rules before
 * the first "user" line are the anonymous clients'; patterns apply to every client. Loading and
 * checking only; the loaded ACL is immutable (reload = load a new one and swap). */
#ifndef TERN_AUTH_ACL_H
#define TERN_AUTH_ACL_H

#include <stdbool.h>
#include <stddef.h>

struct acl;

enum acl_access {
    ACL_READ = 1,      /* deliver a message with this topic to the client */
    ACL_WRITE = 2,     /* accept a PUBLISH to this topic from the client */
    ACL_SUBSCRIBE = 4, /* accept a SUBSCRIBE with this filter */
};

/* Loads path. Blank lines and '#' comments are skipped; a FILTER may contain spaces (the rest
 * of the line). Errors (TERN_ECONFIG, TERN_EIO, TERN_ENOMEM) set err to "FILE:LINE: reason"
 * for an unknown keyword, a missing user name or filter, or an invalid filter. *out is set
 * only on success. */
int acl_load(const char *path, struct acl **out, char *err, size_t errlen);

/* Whether the client may do `access` on topic (a topic name for READ/WRITE, a filter for
 * SUBSCRIBE; "$share/GROUP/" is stripped). username NULL = anonymous client (the rules before
 * the first "user" line); client_id may be NULL (patterns with %c then do not apply).
 *
 * READ and WRITE follow Mosquitto 2 exactly: the client's own rules (its "user" section, or
 * the anonymous section) first, deny rules before grants, a matching deny refuses, a matching
 * grant with the access allows; then the patterns the same way; nothing matching refuses. A
 * topic starting with '$' is only matched by rules starting with '$'. Patterns refuse clients
 * whose id or username contains '+' or '#'.
 *
 * SUBSCRIBE: Mosquitto 2 grants every subscription and filters each delivery with READ (the
 * broker must still check READ per delivered message). Tern additionally refuses a filter that
 * no READ could ever pass: one that no read/readwrite rule overlaps, or that a deny rule
 * covers completely. Thread-safe (the ACL is read-only). */
bool acl_check(const struct acl *acl, const char *client_id, const char *username,
               const char *topic, enum acl_access access);

/* Number of user sections (not counting the anonymous one) and of patterns, for logging. */
size_t acl_user_count(const struct acl *acl);
size_t acl_pattern_count(const struct acl *acl);

/* Accepts NULL. */
void acl_free(struct acl *acl);

#endif
