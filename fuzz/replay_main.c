/* A main() that feeds every file named on the command line (or found directly inside a named
 * directory) to LLVMFuzzerTestOneInput, so the fuzz targets run as plain tests without
 * libFuzzer. Each input is copied into an exactly-sized heap buffer (so sanitizers catch
 * over-reads) and mem_in_use() must come back to its previous value after each one (no leaks).
 * It does not recurse into subdirectories and does not mutate anything. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "fuzz_target.h"
#include "mem.h"

/* Reads a whole file into a fresh buffer of exactly its size (at least 1 byte allocated). */
static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0;
    size_t cap = 0;

    if (!f)
        return TERN_EIO;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = mem_realloc(data, cap);
            if (!grown)
                goto fail;
            data = grown;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    /* Shrink to the exact size so a read past the end is a heap overflow, not slack. */
    uint8_t *exact = mem_dup(data, len);
    mem_free(data);
    if (!exact)
        return TERN_ENOMEM;
    *out = exact;
    *out_len = len;
    return 0;
fail:
    mem_free(data);
    fclose(f);
    return TERN_EIO;
}

static int replay_file(const char *path)
{
    uint8_t *data;
    size_t len;
    int err = read_file(path, &data, &len);

    if (err) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, tern_strerror(err));
        return err;
    }
    size_t before = mem_in_use();
    LLVMFuzzerTestOneInput(data, len);
    size_t after = mem_in_use();
    mem_free(data);
    if (after != before) {
        fprintf(stderr, "replay: %s leaked %zu bytes\n", path, after - before);
        return TERN_EINVAL;
    }
    return 0;
}

/* Replays the regular files directly inside dir. Adds the number replayed to *count. */
static int replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int err = 0;

    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return TERN_EIO;
    }
    while (!err && (e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) {
            err = TERN_ETOOBIG;
            break;
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        err = replay_file(path);
        if (!err)
            (*count)++;
    }
    closedir(d);
    return err;
}

int main(int argc, char **argv)
{
    size_t count = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int err;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            err = replay_dir(argv[i], &count);
        } else {
            err = replay_file(argv[i]);
            if (!err)
                count++;
        }
        if (err)
            return 1;
    }
    /* An empty corpus would make the test pass without testing anything. */
    if (count == 0) {
        fprintf(stderr, "replay: no input files found\n");
        return 1;
    }
    printf("replayed %zu inputs\n", count);
    return 0;
}
