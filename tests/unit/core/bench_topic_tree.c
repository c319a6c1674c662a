/* Micro-benchmark of topic_tree_match (not a ctest test): builds a tree of N subscriptions
 * (default 1,000,000: 99% exact, 0.9% '+', 0.1% '#'; each published topic matches 11) and
 * counts matches/s with 1..4 threads, lock-free (RCU) and with every match wrapped in a shared
 * pthread rwlock read lock (the cost of the rwlock design), each with and without a thread
 * that keeps adding and removing subscriptions.
 * Usage: bench_topic_tree [subs] [seconds] [rcu|rwlock|all]. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "topic_tree.h"

#define MAX_THREADS 4
#define NTOPICS     4096

struct bench {
    struct topic_tree *t;
    pthread_rwlock_t rw;
    bool use_rw;
    _Atomic bool stop;
    char topics[NTOPICS][32];
    _Atomic unsigned long matches;
    _Atomic unsigned long hits;
    _Atomic unsigned long cpu_ns; /* readers' CPU time, so a busy machine skews less */
    unsigned long writes;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_hit(void *subscriber, uint8_t options, uint32_t sub_id, bool shared, void *ctx)
{
    (void)subscriber;
    (void)options;
    (void)sub_id;
    (void)shared;
    (*(unsigned long *)ctx)++;
}

static unsigned long thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (unsigned long)ts.tv_sec * 1000000000ul + (unsigned long)ts.tv_nsec;
}

static void *reader(void *arg)
{
    struct bench *b = arg;
    unsigned long cpu0 = thread_cpu_ns();
    unsigned long n = 0, hits = 0;
    unsigned i = (unsigned)(uintptr_t)&n;
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        for (int k = 0; k < 64; k++) {
            i = i * 1103515245u + 12345u;
            const char *topic = b->topics[(i >> 8) % NTOPICS];
            if (b->use_rw)
                pthread_rwlock_rdlock(&b->rw);
            topic_tree_match(b->t, bytes_str(topic), on_hit, &hits);
            if (b->use_rw)
                pthread_rwlock_unlock(&b->rw);
        }
        n += 64;
    }
    atomic_fetch_add(&b->matches, n);
    atomic_fetch_add(&b->hits, hits);
    atomic_fetch_add(&b->cpu_ns, thread_cpu_ns() - cpu0);
    return NULL;
}

/* Adds and removes a subscription in a loop, under the rwlock's write lock in rwlock mode. */
static void *writer(void *arg)
{
    struct bench *b = arg;
    char f[48];
    unsigned long n = 0;
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        snprintf(f, sizeof f, "t/%lu/%lu/y", n % 1000, (n / 1000) % 1000);
        void *s = (void *)(uintptr_t)(0x10000000u + (n % 4096) * 16);
        for (int op = 0; op < 2; op++) {
            if (b->use_rw)
                pthread_rwlock_wrlock(&b->rw);
            if (op == 0)
                topic_tree_add(b->t, bytes_str(f), s, 1, 0);
            else
                topic_tree_remove(b->t, bytes_str(f), s);
            if (b->use_rw)
                pthread_rwlock_unlock(&b->rw);
        }
        n++;
    }
    b->writes = n * 2;
    return NULL;
}

static void run(struct bench *b, int threads, bool use_rw, bool with_writer, double secs)
{
    pthread_t th[MAX_THREADS + 1];
    b->use_rw = use_rw;
    atomic_store(&b->stop, false);
    atomic_store(&b->matches, 0);
    atomic_store(&b->hits, 0);
    atomic_store(&b->cpu_ns, 0);
    b->writes = 0;
    double t0 = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, reader, b);
    if (with_writer)
        pthread_create(&th[threads], NULL, writer, b);
    struct timespec d = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&d, NULL);
    atomic_store(&b->stop, true);
    for (int i = 0; i < threads + (with_writer ? 1 : 0); i++)
        pthread_join(th[i], NULL);
    double el = now_s() - t0;
    unsigned long m = atomic_load(&b->matches);
    double cpu = (double)atomic_load(&b->cpu_ns) / 1e9;
    printf("%-6s threads=%d writer=%-3s %9.0f matches/s %9.0f matches/cpu-s %5.2f hits/match "
           "%8.0f writes/s\n",
           use_rw ? "rwlock" : "rcu", threads, with_writer ? "yes" : "no", (double)m / el,
           cpu > 0 ? (double)m / cpu : 0.0, m ? (double)atomic_load(&b->hits) / (double)m : 0.0,
           (double)b->writes / el);
}

static void build(struct bench *b, unsigned long nsubs)
{
    char f[48];
    unsigned long nplus = nsubs * 9 / 1000, nhash = nsubs / 1000;
    unsigned long nexact = nsubs - nplus - nhash;
    double t0 = now_s();
    for (unsigned long i = 0; i < nsubs; i++) {
        if (i < nexact)
            snprintf(f, sizeof f, "t/%lu/%lu/x", i / 1000, i % 1000);
        else if (i < nexact + nplus)
            snprintf(f, sizeof f, "t/%lu/+/x", (i - nexact) % 1000);
        else
            snprintf(f, sizeof f, "t/%lu/#", (i - nexact - nplus) % 1000);
        if (topic_tree_add(b->t, bytes_str(f), (void *)(uintptr_t)((i + 1) * 16), 1, 0) != 1) {
            fprintf(stderr, "add %s failed\n", f);
            exit(1);
        }
    }
    double el = now_s() - t0;
    printf("built %lu subscriptions in %.2f s (%.0f adds/s), %.1f MiB (%.0f B/sub)\n", nsubs, el,
           (double)nsubs / el, (double)mem_in_use() / 1048576.0,
           (double)mem_in_use() / (double)nsubs);
    unsigned long rows = nexact / 1000 ? nexact / 1000 : 1;
    for (int i = 0; i < NTOPICS; i++)
        snprintf(b->topics[i], sizeof b->topics[i], "t/%lu/%d/x", (unsigned long)rand() % rows,
                 rand() % 1000);
}

int main(int argc, char **argv)
{
    unsigned long nsubs = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    double secs = argc > 2 ? atof(argv[2]) : 1.0;
    const char *mode = argc > 3 ? argv[3] : "all";
    static struct bench b;
    b.t = topic_tree_new();
    if (!b.t || pthread_rwlock_init(&b.rw, NULL) != 0)
        return 1;
    build(&b, nsubs);
    for (int rw = 0; rw < 2; rw++) {
        if ((rw && strcmp(mode, "rcu") == 0) || (!rw && strcmp(mode, "rwlock") == 0))
            continue;
        for (int w = 0; w < 2; w++)
            for (int n = 1; n <= MAX_THREADS; n++)
                run(&b, n, rw, w, secs);
    }
    double t0 = now_s();
    topic_tree_free(b.t);
    printf("freed in %.2f s\n", now_s() - t0);
    pthread_rwlock_destroy(&b.rw);
    return 0;
}
