/* `tern passwd`: mosquitto_passwd 2.0-compatible password file tool: -c create, -b batch,
 * -D delete, -U upgrade plain text, -H sha512|sha512-pbkdf2|argon2id (Mosquitto 2.1's argon2id
 * lines), -I iterations. Rewrites the file through a temporary file and rename. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli_help.h"
#include "cli_tools.h"
#include "tern.h"

#define MAX_PW   512
#define MAX_LINE 1024

struct pw_opts {
    bool create, batch, del, upgrade;
    enum tern_passwd_hash hash;
    int iterations;
    const char *file, *user, *password;
};

static int usage_error(const char *msg)
{
    if (msg)
        fprintf(stderr, "Error: %s\n", msg);
    cli_help_passwd(stdout);
    return 1;
}

static int parse_hash(struct pw_opts *o, const char *v)
{
    if (!strcmp(v, "sha512-pbkdf2")) {
        o->hash = TERN_PASSWD_SHA512_PBKDF2;
    } else if (!strcmp(v, "sha512")) {
        o->hash = TERN_PASSWD_SHA512;
    } else if (!strcmp(v, "argon2id")) {
        o->hash = TERN_PASSWD_ARGON2ID;
    } else {
        fprintf(stderr, "Error: Unknown hash type '%s'\n", v);
        return 1;
    }
    return 0;
}

static int parse_flags(struct pw_opts *o, int argc, char **argv, int *i)
{
    for (; *i < argc && argv[*i][0] == '-'; (*i)++) {
        const char *a = argv[*i];
        if (!strcmp(a, "--help"))
            return usage_error(NULL);
        if (!strcmp(a, "-c"))
            o->create = true;
        else if (!strcmp(a, "-b"))
            o->batch = true;
        else if (!strcmp(a, "-D"))
            o->del = true;
        else if (!strcmp(a, "-U"))
            o->upgrade = true;
        else if ((!strcmp(a, "-H") || !strcmp(a, "-I")) && *i + 1 >= argc)
            return usage_error(a[1] == 'H' ? "-H argument given but no hash specified."
                                           : "-I argument given but no iterations specified.");
        else if (!strcmp(a, "-H") && parse_hash(o, argv[++*i]))
            return 1;
        else if (!strcmp(a, "-I") && (o->iterations = atoi(argv[++*i])) <= 0)
            return usage_error("Invalid number of iterations.");
        else if (strcmp(a, "-H") && strcmp(a, "-I"))
            return usage_error(NULL);
    }
    return 0;
}

static int parse_args(struct pw_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->hash = TERN_PASSWD_SHA512_PBKDF2;
    int i = 1, rc = parse_flags(o, argc, argv, &i);
    if (rc)
        return rc;
    int left = argc - i;
    if (o->create && o->del)
        return usage_error("-c and -D cannot be used together.");
    if (o->upgrade) {
        if (left != 1 || o->create || o->del || o->batch)
            return usage_error(NULL);
        o->file = argv[i];
        return 0;
    }
    int need = o->batch && !o->del ? 3 : 2;
    if (left != need) {
        if (o->create && o->batch)
            fprintf(stderr, "Error: -c argument given but password file, username, or "
                            "password missing.\n");
        else if (o->create)
            fprintf(stderr, "Error: -c argument given but password file or username "
                            "missing.\n");
        else
            return usage_error(NULL);
        return 1;
    }
    o->file = argv[i];
    o->user = argv[i + 1];
    o->password = need == 3 ? argv[i + 2] : NULL;
    if (strchr(o->user, ':')) {
        fprintf(stderr, "Error: Username must not contain the ':' character.\n");
        return 1;
    }
    return 0;
}

/* Prompts on the terminal (echo off when it is one) or reads stdin. */
static int read_password(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    printf("%s", prompt);
    fflush(stdout);
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    char *got = fgets(buf, (int)cap, stdin);
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
    printf("\n");
    if (!got)
        return 1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int get_password(char *pw, size_t cap)
{
    char again[MAX_PW];
    if (read_password("Password: ", pw, cap) ||
        read_password("Reenter password: ", again, sizeof again)) {
        fprintf(stderr, "Error: Empty password.\n");
        return 1;
    }
    if (strcmp(pw, again) != 0) {
        fprintf(stderr, "Error: Passwords do not match.\n");
        return 2;
    }
    return 0;
}

static bool same_user(const char *line, const char *user)
{
    size_t n = strlen(user);
    return strncmp(line, user, n) == 0 && line[n] == ':';
}

/* Writes one output line for `line` (from the old file) into out. */
static int transform(const struct pw_opts *o, const char *line, FILE *out, bool *found)
{
    char hashed[MAX_LINE];
    if (o->upgrade) {
        const char *colon = strchr(line, ':');
        if (!colon)
            return fputs(line, out) < 0;
        char user[MAX_LINE];
        snprintf(user, sizeof user, "%.*s", (int)(colon - line), line);
        char pw[MAX_LINE];
        snprintf(pw, sizeof pw, "%s", colon + 1);
        pw[strcspn(pw, "\r\n")] = '\0';
        if (tern_passwd_make(user, pw, o->hash, o->iterations, hashed, sizeof hashed))
            return 1;
        return fprintf(out, "%s\n", hashed) < 0;
    }
    if (!same_user(line, o->user))
        return fputs(line, out) < 0;
    *found = true;
    if (o->del)
        return 0;
    if (tern_passwd_make(o->user, o->password, o->hash, o->iterations, hashed, sizeof hashed))
        return 1;
    return fprintf(out, "%s\n", hashed) < 0;
}

static int rewrite(const struct pw_opts *o, FILE *in, FILE *out, bool *found)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && in && (n = getline(&line, &cap, in)) >= 0) {
        if (n > 0 && line[n - 1] != '\n' && (size_t)n + 1 < cap) {
            line[n] = '\n';
            line[n + 1] = '\0';
        }
        rc = transform(o, line, out, found);
    }
    free(line);
    if (rc == 0 && !*found && !o->del && !o->upgrade) {
        char hashed[MAX_LINE];
        rc = tern_passwd_make(o->user, o->password, o->hash, o->iterations, hashed, sizeof hashed)
                 ? 1
                 : fprintf(out, "%s\n", hashed) < 0;
    }
    return rc;
}

static int update_file(const struct pw_opts *o)
{
    FILE *in = NULL;
    if (!o->create) {
        in = fopen(o->file, "r");
        if (!in) {
            fprintf(stderr,
                    "Error: Unable to open password file %s. No such file or "
                    "directory.\n",
                    o->file);
            return 1;
        }
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", o->file);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "Error: Unable to write to %s.\n", tmp);
        if (in)
            fclose(in);
        return 1;
    }
    /* The rewritten file keeps the mode and owner of the one it replaces (a file made 0640 for
     * the broker's group stays so), as mosquitto_passwd's in-place rewrite does. */
    struct stat st;
    if (in && fstat(fileno(in), &st) == 0) {
        /* Best effort: only root may hand the file to another owner. */
        (void)!fchown(fileno(out), st.st_uid, st.st_gid);
        (void)!fchmod(fileno(out), st.st_mode & 07777);
    }
    bool found = false;
    int rc = rewrite(o, in, out, &found);
    if (in)
        fclose(in);
    if (fclose(out) != 0 || rc) {
        unlink(tmp);
        fprintf(stderr, "Error: Unable to write password file.\n");
        return 1;
    }
    if (rename(tmp, o->file) != 0) {
        unlink(tmp);
        fprintf(stderr, "Error: Unable to replace %s.\n", o->file);
        return 1;
    }
    if (o->del && !found) {
        fprintf(stderr, "Warning: User %s not found in password file.\n", o->user);
        return 1;
    }
    return 0;
}

int cli_passwd_main(int argc, char **argv)
{
    struct pw_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc)
        return rc;
    char pw[MAX_PW];
    if (!o.upgrade && !o.del && !o.batch) {
        rc = get_password(pw, sizeof pw);
        if (rc)
            return rc;
        o.password = pw;
    }
    return update_file(&o);
}
