/* Fuzz target for Mosquitto ACL files (acl_load): the input is the file. Extra queries hide in
 * comment lines the parser skips: "#?TOPIC" adds a topic or filter, "#@USER" a user name. Each
 * loaded ACL answers READ / WRITE / SUBSCRIBE for fixed and extra users, client ids and topics.
 * Invariants: errors name the file and line, invalid topics are refused, "$share/GROUP/" is
 * stripped for SUBSCRIBE, and a load with one injected allocation failure fails cleanly. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "err.h"
#include "fuzz_file.h"
#include "fuzz_target.h"
#include "mem.h"

#define MAX_EXTRA 4

static const char *const fixed_topics[] = {
    "a", "a/b", "a/b/c", "$SYS/broker/x", "c1/x", "alice/x", "#", "+/b", "a/#", "/", "",
};
static const char *const fixed_users[] = {NULL, "alice", "bob", "u+#"};
static const char *const fixed_clients[] = {NULL, "c1", "a/b"};

static void check_error(int rc, const char *path, const char *err)
{
    if (rc != TERN_ECONFIG && rc != TERN_EIO && rc != TERN_ENOMEM)
        abort();
    if (rc == TERN_ECONFIG && strncmp(err, path, strlen(path)) != 0)
        abort();
}

/* One topic for one client: READ/WRITE only on valid names, and the shared form of a filter is
 * answered like the filter itself. */
static void check_topic(const struct acl *acl, const char *client, const char *user,
                        const char *topic)
{
    bool r = acl_check(acl, client, user, topic, ACL_READ);
    bool w = acl_check(acl, client, user, topic, ACL_WRITE);
    bool s = acl_check(acl, client, user, topic, ACL_SUBSCRIBE);
    if ((r || w) && (strchr(topic, '+') || strchr(topic, '#') || topic[0] == '\0'))
        abort(); /* a filter is never a publishable topic name [MQTT-3.3.2-2] */
    size_t n = strlen(topic);
    char *shared = mem_alloc(n + 12);
    if (shared == NULL)
        abort();
    memcpy(shared, "$share/grp/", 11);
    memcpy(shared + 11, topic, n + 1);
    bool sh = acl_check(acl, client, user, shared, ACL_SUBSCRIBE);
    /* "$share/grp/" + an empty filter is no valid filter at all, and a nested "$share/" would
     * be stripped only once. */
    if (n > 0 && strncmp(topic, "$share/", 7) != 0 && sh != s)
        abort();
    mem_free(shared);
}

static void run_queries(const struct acl *acl, char **topics, size_t n_topics, char **users,
                        size_t n_users)
{
    const size_t nf = sizeof fixed_topics / sizeof fixed_topics[0];
    for (size_t u = 0; u < 4 + n_users; u++) {
        const char *user = u < 4 ? fixed_users[u] : users[u - 4];
        for (size_t c = 0; c < 3; c++) {
            for (size_t t = 0; t < nf + n_topics; t++)
                check_topic(acl, fixed_clients[c], user, t < nf ? fixed_topics[t] : topics[t - nf]);
        }
    }
    if (acl_check(NULL, "c1", "alice", "a", ACL_READ))
        abort();
}

/* Loads again with the k-th allocation failing: must fail with TERN_ENOMEM and leak nothing
 * (replay_main checks the leak). */
static void load_with_fault(const char *path, uint64_t allocs, uint64_t seed)
{
    struct acl *acl = NULL;
    char err[256];
    if (allocs == 0)
        return;
    mem_fail_at(seed % allocs + 1);
    int rc = acl_load(path, &acl, err, sizeof err);
    mem_fail_at(0);
    if (rc != TERN_ENOMEM || acl != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size);
    char *text = fuzz_file_text(data, size);
    char *topics[MAX_EXTRA], *users[MAX_EXTRA];
    size_t n_topics = fuzz_file_tagged_lines(text, "#?", topics, MAX_EXTRA);
    size_t n_users = fuzz_file_tagged_lines(text, "#@", users, MAX_EXTRA);
    struct acl *acl = NULL;
    char err[256];

    mem_fail_at(0);
    int rc = acl_load(path, &acl, err, sizeof err);
    uint64_t allocs = mem_alloc_count();
    if (rc == 0) {
        if (acl == NULL || err[0] != '\0')
            abort();
        run_queries(acl, topics, n_topics, users, n_users);
        acl_free(acl);
        load_with_fault(path, allocs, fuzz_file_hash(data, size));
    } else {
        check_error(rc, path, err);
    }
    for (size_t i = 0; i < n_topics; i++)
        mem_free(topics[i]);
    for (size_t i = 0; i < n_users; i++)
        mem_free(users[i]);
    mem_free(text);
    return 0;
}
