/* The broker spawner for the integration tests: temp dir with config, ready file and the broker's
 * output; posix_spawn; bounded, event-based waits (inotify on the temp dir plus a pidfd on the
 * child); SIGTERM stop with the exit status checked. It knows nothing of MQTT. */
#include "spawner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MOSQUITTO_PATH "/usr/sbin/mosquitto"

extern char **environ;

struct spawner {
    pid_t pid;
    int pidfd;
    int port;
    int log_dumped;
    int notify; /* spawner_start_file: the NOTIFY_SOCKET end, else -1 */
    char dir[256];
};

/* The broker of the running test, so one left behind by an early return is still stopped. */
static struct spawner *current;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int spawner_is_mosquitto(void)
{
    const char *v = getenv("TERN_TEST_BROKER");
    return v && strcmp(v, "mosquitto") == 0;
}

static const char *ternd_path(const char *compiled)
{
    const char *p = getenv("TERND");
    return p && *p ? p : compiled;
}

static void path_in(const struct spawner *b, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", b->dir, name);
}

static void dump_log(struct spawner *b)
{
    if (b->log_dumped)
        return;
    b->log_dumped = 1;
    char path[300];
    path_in(b, "broker.log", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char buf[4096];
    size_t n, total = 0;
    fprintf(stderr, "---- broker output (%s) ----\n", path);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 && total < 65536) {
        fwrite(buf, 1, n, stderr);
        total += n;
    }
    fprintf(stderr, "---- end of broker output ----\n");
    fclose(f);
}

static void remove_dir(const struct spawner *b)
{
    DIR *d = opendir(b->dir);
    if (!d)
        return;
    struct dirent *e;
    char path[600];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", b->dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(b->dir);
}

int spawner_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* The value of extra's first `user` line into out ("" when there is none). */
static void user_line(const char *extra, char *out, size_t cap)
{
    out[0] = 0;
    for (const char *line = extra ? extra : ""; *line;) {
        size_t n = strcspn(line, "\n");
        if (n > 5 && strncmp(line, "user", 4) == 0 && (line[4] == ' ' || line[4] == '\t')) {
            const char *v = line + 5;
            size_t k = (size_t)(line + n - v);
            snprintf(out, cap, "%.*s", (int)k, v);
            return;
        }
        line += n + (line[n] == '\n');
    }
}

/* A test that names a `user` (not root) gets the temp dir handed to that user when we are
 * root: world-readable, and owned by the user so the broker can write its ready file there
 * after dropping privileges. 0 or -1. */
static int share_dir(const struct spawner *b, const char *extra)
{
    char user[128];
    user_line(extra, user, sizeof user);
    if (!user[0] || strcmp(user, "root") == 0 || geteuid() != 0)
        return 0;
    const struct passwd *pw = getpwnam(user);
    if (!pw)
        return 0; /* an unknown user: the broker is expected to refuse it */
    return chmod(b->dir, 0755) == 0 && chown(b->dir, pw->pw_uid, pw->pw_gid) == 0 ? 0 : -1;
}

static int write_config(const struct spawner *b, const char *extra, int mosquitto)
{
    char path[300], user[128];
    path_in(b, "broker.conf", path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    if (mosquitto)
        fprintf(f, "log_dest stderr\nlistener %d 127.0.0.1\n", b->port);
    else
        fprintf(f, "listener 0 127.0.0.1\n");
    fprintf(f, "allow_anonymous true\n");
    /* Tests run as root in CI and keep their files in 0700 temp dirs: a broker that dropped to
     * its default user (mosquitto, or nobody) could not write the ready file or read the
     * password/ACL files there, so stay root unless the test chooses a user itself. */
    user_line(extra, user, sizeof user);
    if (!user[0])
        fprintf(f, "user root\n");
    /* Mosquitto has one thread and no worker_threads option: leave that line out for it. */
    const char *line = extra ? extra : "";
    while (*line) {
        size_t n = strcspn(line, "\n");
        if (!mosquitto || strncmp(line, "worker_threads", 14) != 0)
            fprintf(f, "%.*s\n", (int)n, line);
        line += n + (line[n] == '\n');
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* posix_spawn argv with envp (environ when NULL), stdin /dev/null, stdout and stderr into the
 * temp dir's broker.log; then a pidfd on the child. */
static int spawn_argv(struct spawner *b, char *const argv[], char *const envp[])
{
    char log[300];
    path_in(b, "broker.log", log, sizeof log);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&b->pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "broker: spawn %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    b->pidfd = (int)syscall(SYS_pidfd_open, b->pid, 0);
    if (b->pidfd < 0) {
        perror("broker: pidfd_open");
        return -1;
    }
    return 0;
}

static int spawn(struct spawner *b, const char *ternd, int mosquitto)
{
    char conf[300], ready[300];
    path_in(b, "broker.conf", conf, sizeof conf);
    path_in(b, "ready", ready, sizeof ready);
    const char *exe = mosquitto ? MOSQUITTO_PATH : ternd_path(ternd);
    if (!exe) {
        fprintf(stderr, "broker: no ternd: set TERND or build with TERND_PATH\n");
        return -1;
    }
    char *argv_t[] = {(char *)exe, "-c", conf, "--ready-file", ready, NULL};
    char *argv_m[] = {(char *)exe, "-c", conf, NULL};
    return spawn_argv(b, mosquitto ? argv_m : argv_t, NULL);
}

/* Parse the ready file: the first `mqtt <address> <port>` line gives the port. 1 = ready,
 * 0 = not there yet, -1 = malformed. */
static int read_ready(struct spawner *b)
{
    char path[300], addr[128];
    path_in(b, "ready", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int port = 0;
    int n = fscanf(f, "mqtt %127s %d", addr, &port);
    fclose(f);
    if (n != 2 || port <= 0 || port > 65535) {
        fprintf(stderr, "broker: malformed ready file %s\n", path);
        return -1;
    }
    b->port = port;
    return 1;
}

static int exited(const struct spawner *b, int timeout_ms)
{
    struct pollfd p = {.fd = b->pidfd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) > 0;
}

/* ternd: wait for the ready file via inotify on the directory (the file appears by rename). */
static int wait_ready_file(struct spawner *b)
{
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0 || inotify_add_watch(in, b->dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        perror("broker: inotify");
        if (in >= 0)
            close(in);
        return -1;
    }
    long long deadline = now_ms() + SPAWNER_WAIT_MS;
    int rc;
    while ((rc = read_ready(b)) == 0) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "broker: no ready file within %d ms\n", SPAWNER_WAIT_MS);
            rc = -1;
            break;
        }
        struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = b->pidfd, .events = POLLIN}};
        if (poll(p, 2, (int)left) > 0 && (p[1].revents & POLLIN) && read_ready(b) == 0) {
            fprintf(stderr, "broker: exited before it was ready\n");
            rc = -1;
            break;
        }
        char ev[4096];
        while (read(in, ev, sizeof ev) > 0)
            ;
    }
    close(in);
    return rc == 1 ? 0 : -1;
}

static int try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Mosquitto: no ready file; retry a TCP connect, waiting on the child's pidfd in between (so an
 * early exit ends the wait at once). */
static int wait_port(struct spawner *b)
{
    long long deadline = now_ms() + SPAWNER_WAIT_MS;
    while (!try_connect(b->port)) {
        if (now_ms() >= deadline) {
            fprintf(stderr, "broker: port %d not accepting within %d ms\n", b->port,
                    SPAWNER_WAIT_MS);
            return -1;
        }
        if (exited(b, 20)) {
            fprintf(stderr, "broker: exited before it was ready\n");
            return -1;
        }
    }
    return 0;
}

static void stop_current(void)
{
    if (current && spawner_stop(current) != 0)
        fprintf(stderr, "broker: the broker left running at exit did not stop cleanly\n");
}

/* A spawner with its temp dir, made the current one (stopping one left running); NULL after
 * printing why. */
static struct spawner *spawner_new(void)
{
    static int at_exit_set;
    if (!at_exit_set && atexit(stop_current) == 0)
        at_exit_set = 1;
    if (current) {
        fprintf(stderr, "broker: stopping the broker left by the previous test\n");
        spawner_stop(current);
    }
    struct spawner *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->pid = -1;
    b->pidfd = -1;
    b->notify = -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(b->dir, sizeof b->dir, "%s/tern-it-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(b->dir)) {
        perror("broker: mkdtemp");
        free(b);
        return NULL;
    }
    current = b;
    return b;
}

struct spawner *spawner_start_path(const char *ternd, const char *extra_conf)
{
    int mosquitto = spawner_is_mosquitto();
    struct spawner *b = spawner_new();
    if (!b)
        return NULL;
    if (mosquitto && (b->port = spawner_free_port()) < 0)
        goto fail;
    if (write_config(b, extra_conf, mosquitto) != 0 || share_dir(b, extra_conf) != 0 ||
        spawn(b, ternd, mosquitto) != 0)
        goto fail;
    if ((mosquitto ? wait_port(b) : wait_ready_file(b)) != 0)
        goto fail;
    return b;
fail:
    fprintf(stderr, "broker: start failed (config: %s)\n", extra_conf ? extra_conf : "");
    dump_log(b);
    spawner_stop(b);
    return NULL;
}

int spawner_port(const struct spawner *b)
{
    return b->port;
}

int spawner_stop(struct spawner *b)
{
    if (!b)
        return 0;
    int rc = 0;
    if (b->pid > 0) {
        int status = 0;
        kill(b->pid, SIGTERM);
        if (b->pidfd >= 0 && !exited(b, SPAWNER_WAIT_MS)) {
            fprintf(stderr, "broker: no exit within %d ms of SIGTERM: SIGKILL\n", SPAWNER_WAIT_MS);
            kill(b->pid, SIGKILL);
            rc = -1;
        }
        while (waitpid(b->pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (WIFSIGNALED(status))
                fprintf(stderr, "broker: killed by signal %d\n", WTERMSIG(status));
            else
                fprintf(stderr, "broker: exit status %d\n", WEXITSTATUS(status));
            rc = -1;
        }
    }
    if (rc != 0)
        dump_log(b);
    if (b->pidfd >= 0)
        close(b->pidfd);
    if (b->notify >= 0)
        close(b->notify);
    remove_dir(b);
    if (current == b)
        current = NULL;
    free(b);
    return rc;
}

/* ---- Additions for the integration suites 12..16. ---- */

static int spawn_args(struct spawner *b, const char *ternd, const char *const *extra)
{
    char conf[300], ready[300];
    path_in(b, "broker.conf", conf, sizeof conf);
    path_in(b, "ready", ready, sizeof ready);
    const char *exe = ternd_path(ternd);
    if (!exe) {
        fprintf(stderr, "broker: no ternd: set TERND or build with TERND_PATH\n");
        return -1;
    }
    char *argv[32] = {(char *)exe, "-c", conf, "--ready-file", ready};
    size_t n = 5;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    return spawn_argv(b, argv, NULL);
}

struct spawner *spawner_start_args(const char *ternd, const char *extra_conf,
                                   const char *const *extra_args)
{
    if (spawner_is_mosquitto())
        return spawner_start_path(ternd, extra_conf);
    struct spawner *b = spawner_new();
    if (!b)
        return NULL;
    if (write_config(b, extra_conf, 0) != 0 || share_dir(b, extra_conf) != 0 ||
        spawn_args(b, ternd, extra_args) != 0 || wait_ready_file(b) != 0) {
        fprintf(stderr, "broker: start failed (config: %s)\n", extra_conf ? extra_conf : "");
        dump_log(b);
        spawner_stop(b);
        return NULL;
    }
    return b;
}

int spawner_pid(const struct spawner *b)
{
    return (int)b->pid;
}

int spawner_signal(const struct spawner *b, int sig)
{
    return b->pid > 0 && kill(b->pid, sig) == 0 ? 0 : -1;
}

int spawner_rewrite_conf(struct spawner *b, const char *extra_conf)
{
    return write_config(b, extra_conf, spawner_is_mosquitto());
}

/* The n-th `<proto> ADDRESS PORT` line's port (proto "mqtt" or "ws"), or -1. */
static int ready_port(const struct spawner *b, const char *proto, int n)
{
    char path[300], line[512], addr[300], kind[8];
    path_in(b, "ready", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int port = -1, seen = 0;
    while (fgets(line, sizeof line, f)) {
        int p = 0;
        if (sscanf(line, "%7s %299s %d", kind, addr, &p) != 3 || strcmp(kind, proto) != 0 ||
            strcmp(addr, "unix") == 0)
            continue;
        if (seen++ == n) {
            port = p;
            break;
        }
    }
    fclose(f);
    return port;
}

int spawner_listener_port(const struct spawner *b, int n)
{
    return ready_port(b, "mqtt", n);
}

int spawner_ws_port(const struct spawner *b, int n)
{
    return ready_port(b, "ws", n);
}

int spawner_unix_path(const struct spawner *b, char *out, size_t cap)
{
    char path[300], line[512];
    path_in(b, "ready", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int rc = -1;
    while (rc != 0 && fgets(line, sizeof line, f)) {
        if (strncmp(line, "mqtt unix ", 10) != 0)
            continue;
        size_t n = strcspn(line + 10, "\r\n");
        if (n > 0 && n < cap) {
            memcpy(out, line + 10, n);
            out[n] = 0;
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

int spawner_file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    if (!buf)
        abort();
    size_t n = fread(buf, 1, cap, f);
    buf[n] = 0;
    fclose(f);
    int found = strstr(buf, text) != NULL;
    free(buf);
    return found;
}

int spawner_output_has(const struct spawner *b, const char *text)
{
    char path[300];
    path_in(b, "broker.log", path, sizeof path);
    return spawner_file_has(path, text);
}

int spawner_wait_output(const struct spawner *b, const char *text, int timeout_ms)
{
    char path[300];
    path_in(b, "broker.log", path, sizeof path);
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0 || inotify_add_watch(in, path, IN_MODIFY) < 0) {
        perror("broker: inotify");
        if (in >= 0)
            close(in);
        return -1;
    }
    long long deadline = now_ms() + timeout_ms;
    int rc = -1;
    for (;;) {
        if (spawner_file_has(path, text)) {
            rc = 0;
            break;
        }
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = in, .events = POLLIN};
        poll(&p, 1, (int)left);
        char ev[4096];
        while (read(in, ev, sizeof ev) > 0)
            ;
    }
    close(in);
    if (rc != 0)
        fprintf(stderr, "broker: '%s' not in the output within %d ms\n", text, timeout_ms);
    return rc;
}

/* Read everything from fd into out until EOF or the deadline; returns 0 at EOF, -1 on timeout. */
static int read_all(int fd, char *out, size_t cap, long long deadline)
{
    size_t len = 0;
    char sink[1024];
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        char *dst = len + 1 < cap ? out + len : sink;
        size_t room = len + 1 < cap ? cap - 1 - len : sizeof sink;
        ssize_t n = read(fd, dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            out[len] = 0;
            return 0;
        }
        if (dst != sink)
            len += (size_t)n;
    }
    out[len] = 0;
    return -1;
}

int spawner_run_path(const char *ternd, const char *const *args, char *out, size_t cap)
{
    const char *exe = ternd_path(ternd);
    int fds[2];
    if (!exe || cap == 0 || pipe(fds) != 0) {
        fprintf(stderr, "spawner_run: no ternd or no pipe\n");
        return -1;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    char *argv[32] = {(char *)exe};
    size_t n = 1;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        fprintf(stderr, "spawner_run: spawn %s: %s\n", exe, strerror(rc));
        close(fds[0]);
        return -1;
    }
    int timed_out = read_all(fds[0], out, cap, now_ms() + SPAWNER_WAIT_MS) != 0;
    close(fds[0]);
    if (timed_out) {
        fprintf(stderr, "spawner_run: %s did not finish within %d ms: SIGKILL\n", exe,
                SPAWNER_WAIT_MS);
        kill(pid, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out || !WIFEXITED(status)) {
        fprintf(stderr, "spawner_run: abnormal end of %s (status 0x%x)\n", exe, status);
        return -1;
    }
    return WEXITSTATUS(status);
}

/* ---- A broker started on a config file of the caller's, ready by the sd_notify protocol. ---- */

int spawner_wait_notify(const struct spawner *b, const char *state, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p[2] = {{.fd = b->notify, .events = POLLIN},
                              {.fd = b->pidfd, .events = POLLIN}};
        if (b->notify < 0 || left <= 0 || poll(p, 2, (int)left) <= 0) {
            fprintf(stderr, "broker: no %s on NOTIFY_SOCKET within %d ms\n", state, timeout_ms);
            return -1;
        }
        if (p[0].revents & POLLIN) {
            char msg[4096];
            ssize_t n = recv(b->notify, msg, sizeof msg - 1, 0);
            if (n <= 0)
                continue;
            msg[n] = 0;
            /* One datagram holds newline-separated assignments. */
            for (char *line = strtok(msg, "\n"); line; line = strtok(NULL, "\n"))
                if (strcmp(line, state) == 0)
                    return 0;
            continue;
        }
        fprintf(stderr, "broker: exited before sending %s\n", state);
        return -1;
    }
}

struct spawner *spawner_start_file(const char *ternd, const char *conf, int port)
{
    const char *exe = spawner_is_mosquitto() ? MOSQUITTO_PATH : ternd_path(ternd);
    struct spawner *b = spawner_new();
    if (!b)
        return NULL;
    b->port = port;
    char sock[300], env_notify[320];
    path_in(b, "notify", sock, sizeof sock);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) < sizeof sa.sun_path)
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
    b->notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (!exe || !sa.sun_path[0] || b->notify < 0 ||
        bind(b->notify, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        /* Like systemd's own socket, reachable after a broker drops root (Mosquitto notifies
         * only then). */
        chmod(b->dir, 0711) != 0 || chmod(sock, 0666) != 0) {
        fprintf(stderr, "broker: no ternd, or no notify socket at %s\n", sock);
        spawner_stop(b);
        return NULL;
    }
    /* The caller's environment plus NOTIFY_SOCKET, as a service manager would pass it. */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    if (!envp)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
            envp[k++] = environ[i];
    snprintf(env_notify, sizeof env_notify, "NOTIFY_SOCKET=%s", sock);
    envp[k] = env_notify;
    char *argv[] = {(char *)exe, "-c", (char *)conf, NULL};
    int rc = spawn_argv(b, argv, envp);
    free(envp);
    if (rc != 0 || spawner_wait_notify(b, "READY=1", SPAWNER_WAIT_MS) != 0) {
        fprintf(stderr, "broker: start failed (config file: %s)\n", conf);
        dump_log(b);
        spawner_stop(b);
        return NULL;
    }
    return b;
}
