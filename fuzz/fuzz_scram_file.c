/* Fuzz target for SCRAM credential files (scram_file_load): the input is the file; "#@USER"
 * comment lines add user names to look up. Each loaded file serves lookups for both mechanisms
 * and one SCRAM exchange per user through scram_file_lookup. Invariants: errors name the file
 * and line, looked-up credentials are in range, a forged proof never succeeds, and a load with
 * one injected allocation failure fails cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "fuzz_file.h"
#include "fuzz_target.h"
#include "mem.h"
#include "scram.h"
#include "scram_file.h"

#define MAX_EXTRA 4

static const char *const fixed_users[] = {"alice", "bob", "x"};

static void check_lookup(struct scram_file *f, enum scram_mech mech, const char *user)
{
    struct scram_cred c;
    int rc = scram_file_lookup(f, mech, user, &c);
    if (rc == TERN_ENOTFOUND)
        return;
    if (rc != 0 || c.salt_len == 0 || c.salt_len > SCRAM_MAX_SALT || c.iterations == 0 ||
        c.iterations > 100000000u)
        abort();
}

/* One exchange for user with an all-zero proof of the right length: never a success. */
static void exchange(struct scram_file *f, enum scram_mech mech, const char *user)
{
    char first[300], out[2048], final[1024], proof64[100];
    static const uint8_t zero[64];
    size_t out_len;
    if (strlen(user) > 200 || strchr(user, ',') || strchr(user, '=') || user[0] == '\0')
        return;
    snprintf(first, sizeof first, "n,,n=%s,r=fuzzclient", user);
    struct scram_server *s = scram_server_new(mech, scram_file_lookup, f);
    if (s == NULL)
        abort();
    int rc =
        scram_server_step(s, (uint8_t *)first, strlen(first), (uint8_t *)out, sizeof out, &out_len);
    if (rc != SCRAM_CONTINUE || strncmp(out, "r=fuzzclient", 12) != 0)
        abort();
    size_t rlen = strcspn(out + 2, ",");
    EVP_EncodeBlock((unsigned char *)proof64, zero, (int)scram_hash_len(mech));
    /* "biws" is base64("n,,"), the gs2 header repeated as channel binding. */
    snprintf(final, sizeof final, "c=biws,r=%.*s,p=%s", (int)rlen, out + 2, proof64);
    rc = scram_server_step(s, (uint8_t *) final, strlen(final), (uint8_t *)out, sizeof out,
                           &out_len);
    if (rc != TERN_EDENIED)
        abort();
    scram_server_free(s);
}

static void load_with_fault(const char *path, uint64_t allocs, uint64_t seed)
{
    struct scram_file *f = NULL;
    char err[256];
    if (allocs == 0)
        return;
    mem_fail_at(seed % allocs + 1);
    int rc = scram_file_load(path, &f, err, sizeof err);
    mem_fail_at(0);
    if (rc != TERN_ENOMEM || f != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size);
    char *text = fuzz_file_text(data, size);
    char *users[MAX_EXTRA];
    size_t n_users = fuzz_file_tagged_lines(text, "#@", users, MAX_EXTRA);
    struct scram_file *f = NULL;
    char err[256];

    mem_fail_at(0);
    int rc = scram_file_load(path, &f, err, sizeof err);
    uint64_t allocs = mem_alloc_count();
    if (rc == 0) {
        if (f == NULL || err[0] != '\0')
            abort();
        for (size_t i = 0; i < 3 + n_users; i++) {
            const char *user = i < 3 ? fixed_users[i] : users[i - 3];
            for (int m = 0; m < 2; m++) {
                check_lookup(f, (enum scram_mech)m, user);
                exchange(f, (enum scram_mech)m, user);
            }
        }
        scram_file_free(f);
        load_with_fault(path, allocs, fuzz_file_hash(data, size));
    } else if (rc != TERN_ECONFIG || strncmp(err, path, strlen(path)) != 0) {
        abort();
    }
    for (size_t i = 0; i < n_users; i++)
        mem_free(users[i]);
    mem_free(text);
    return 0;
}
