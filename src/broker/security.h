/* Per-listener security at run time: the TLS context (replaced on SIGHUP or when its files
 * change on disk, existing connections keep theirs) and the password and ACL databases
 * (replaced on SIGHUP). Replacements are published with an atomic pointer swap; the objects
 * they replace stay alive until the broker is freed, so readers on workers never lock. */
#ifndef TERN_BROKER_SECURITY_H
#define TERN_BROKER_SECURITY_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"
#include "config.h"

struct acl;
struct broker;
struct listener_rt;
struct passwd_file;
struct tls_ctx;

/* Authentication methods a listener offers (the `auth_method` option, repeatable); none set
 * means password only. */
enum auth_methods {
    AUTH_PASSWORD = CONFIG_AUTH_PASSWORD, /* CONNECT user name + password, password_file */
    AUTH_SCRAM_SHA_256 = CONFIG_AUTH_SCRAM_SHA_256, /* MQTT 5 enhanced authentication */
    AUTH_SCRAM_SHA_512 = CONFIG_AUTH_SCRAM_SHA_512,
    AUTH_JWT = CONFIG_AUTH_JWT, /* the CONNECT password is a JWT */
};

struct jwt_verifier;
struct scram_file;

/* What a listener checks clients against; immutable once published. */
struct listener_auth {
    unsigned methods;         /* enum auth_methods */
    struct passwd_file *pw;   /* NULL: no password file */
    struct acl *acl;          /* NULL: no ACL file: everything allowed */
    struct scram_file *scram; /* scram_file, or NULL */
    struct jwt_verifier *jwt; /* with AUTH_JWT */
};

/* Loads TLS material and password/ACL files for every listener and applies
 * log_timestamp_format (as security_reload does). Logs each problem with the file name; returns
 * false when a file the configuration names cannot be used (at start the broker then refuses to
 * run, as Mosquitto does). */
bool security_init(struct broker *b);
/* Reloads everything for the configuration now in force (SIGHUP). A file that fails keeps the
 * old material in use and is logged. */
void security_reload(struct broker *b);
/* Replaces a listener's TLS context when its files changed on disk (called periodically). Also
 * runs the retain_expiry_interval sweep when it is due. */
void security_poll_files(struct broker *b);
/* Frees everything, old generations included. */
void security_free(struct broker *b);

/* Whether the listener's ACL lets the client (client_id, username NULL = anonymous) do access
 * (enum acl_access) on topic, a topic name or a filter as the broker sees it (mount point
 * included). True when the listener has no ACL file. */
bool security_acl(const struct listener_rt *lr, const char *client_id, const char *username,
                  struct tern_bytes topic, int access);

struct msg;
struct retain_source;

/* check_retain_source: records the publisher of m (client id, user name NULL = anonymous, and its
 * listener) in the retained store, when m is retained and the option is on. Call after the
 * message went to the retained store (deliver_publish). Thread-safe. */
void security_note_retain_source(struct broker *b, const struct listener_rt *lr,
                                 const char *client_id, const char *username, struct msg *m);
/* check_retain_source: whether retained message m may be sent to a new subscriber as far as its
 * publisher src (NULL = not recorded) is concerned: true when the option is off, when the
 * publisher is not known, or when the publisher's listener ACL still lets it write the topic
 * (Mosquitto skips the message otherwise and keeps it). Thread-safe. */
bool security_retain_source_ok(const struct broker *b, const struct msg *m,
                               const struct retain_source *src);

/* The listener's current TLS context (NULL for plain TCP) and auth databases. */
struct tls_ctx *security_tls(const struct listener_rt *lr);
const struct listener_auth *security_auth(const struct listener_rt *lr);

#endif
