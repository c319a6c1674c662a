/* Fuzz target for Mosquitto password files (passwd_file_load, then passwd_file_check): the input
 * is the file; "#@USER" comment lines add user names to check. Invariants: errors name the file,
 * the $7$ lookup for SCRAM agrees with the file, a check never passes for a password that was
 * not hashed into the file, and a load with one injected allocation failure fails cleanly.
 * Inputs whose hashes would be too slow to check ($7$ with many iterations, costly argon2id
 * parameters) are only loaded, not checked. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz_file.h"
#include "fuzz_target.h"
#include "mem.h"
#include "passwd_file.h"

#define MAX_EXTRA      4
#define MAX_ITERATIONS 200ul

static const char *const fixed_users[] = {"alice", "bob", "", "x"};

/* Largest number after any "tag" in text (0 when none), read as the parser would. */
static unsigned long max_after(const char *text, size_t size, const char *tag)
{
    unsigned long max = 0;
    size_t tlen = strlen(tag);
    for (size_t i = 0; i + tlen <= size; i++) {
        if (memcmp(text + i, tag, tlen) != 0)
            continue;
        unsigned long v = strtoul(text + i + tlen, NULL, 10);
        if (v > max)
            max = v;
    }
    return max;
}

/* Whether checking a password against every entry stays cheap. */
static bool cheap_to_check(const char *text, size_t size)
{
    if (max_after(text, size, "$7$") > MAX_ITERATIONS)
        return false;
    if (strstr(text, "$argon2") == NULL)
        return true;
    return max_after(text, size, "m=") <= 64 && max_after(text, size, "t=") <= 2 &&
           max_after(text, size, "p=") <= 2;
}

static void check_user(const struct passwd_file *db, const char *user)
{
    static const char *const passwords[] = {"", "secret", "password"};
    for (size_t i = 0; i < 3; i++)
        (void)passwd_file_check(db, user, passwords[i], strlen(passwords[i]));
    /* This password appears in no seed: a fuzzed file cannot hold its hash. */
    static const char never[] = "\x01\x02\x03 not a seed password";
    if (passwd_file_check(db, user, never, sizeof never - 1))
        abort();
    uint8_t salt[64], salted[64];
    size_t salt_len = 0;
    uint32_t iterations = 0;
    int rc = passwd_file_pbkdf2_entry(db, user, salt, sizeof salt, &salt_len, &iterations, salted);
    if (rc == 0 && (iterations == 0 || salt_len == 0 || salt_len > sizeof salt))
        abort();
    if (rc != 0 && rc != TERN_ENOTFOUND)
        abort();
}

static void load_with_fault(const char *path, uint64_t allocs, uint64_t seed)
{
    struct passwd_file *db = NULL;
    char err[256];
    if (allocs == 0)
        return;
    mem_fail_at(seed % allocs + 1);
    int rc = passwd_file_load(path, &db, err, sizeof err);
    mem_fail_at(0);
    if (rc != TERN_ENOMEM || db != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size);
    char *text = fuzz_file_text(data, size);
    char *users[MAX_EXTRA];
    size_t n_users = fuzz_file_tagged_lines(text, "#@", users, MAX_EXTRA);
    struct passwd_file *db = NULL;
    char err[256];

    mem_fail_at(0);
    int rc = passwd_file_load(path, &db, err, sizeof err);
    uint64_t allocs = mem_alloc_count();
    if (rc == 0) {
        if (db == NULL || err[0] != '\0')
            abort();
        if (passwd_file_check(db, NULL, "x", 1) || passwd_file_check(NULL, "alice", "x", 1))
            abort();
        if (cheap_to_check(text, size)) {
            for (size_t i = 0; i < 4 + n_users; i++)
                check_user(db, i < 4 ? fixed_users[i] : users[i - 4]);
        }
        passwd_file_free(db);
        load_with_fault(path, allocs, fuzz_file_hash(data, size));
    } else if (rc != TERN_ECONFIG || strncmp(err, path, strlen(path)) != 0) {
        abort(); /* a memfd is always readable: only bad content fails */
    }
    for (size_t i = 0; i < n_users; i++)
        mem_free(users[i]);
    mem_free(text);
    return 0;
}
