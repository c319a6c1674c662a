/* A tiny unit test runner. Each test file defines `static void test_x(void)` functions and one
 * table:
 *     UNIT_MAIN(UNIT_TEST(test_a), UNIT_TEST(test_b))
 * CHECK records a failure and continues; REQUIRE records it and returns from the test.
 * The last line printed is exactly "N passed, N failed"; the exit status is 0 only when no test
 * failed. Optional argv[1] runs only tests whose name contains it. */
#ifndef TERN_TESTS_UNIT_H
#define TERN_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_test {
    const char *name;
    void (*fn)(void);
};

extern int unit_failures; /* failures in the current test */

#define UNIT_TEST(fn) {#fn, fn}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);               \
            unit_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define REQUIRE(expr)                                                                              \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #expr);             \
            unit_failures++;                                                                       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_) {                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__,  \
                    #a, #b, va_, vb_);                                                             \
            unit_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, alen, b, blen)                                                                \
    do {                                                                                           \
        size_t la_ = (size_t)(alen), lb_ = (size_t)(blen);                                         \
        if (la_ != lb_ || (la_ && memcmp((a), (b), la_) != 0)) {                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s[%zu] == %s[%zu]\n", __FILE__, __LINE__, #a,   \
                    la_, #b, lb_);                                                                 \
            unit_failures++;                                                                       \
        }                                                                                          \
    } while (0)

int unit_run(const struct unit_test *tests, size_t n, int argc, char **argv);

#define UNIT_MAIN(...)                                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const struct unit_test tests_[] = {__VA_ARGS__};                                    \
        return unit_run(tests_, sizeof tests_ / sizeof tests_[0], argc, argv);                     \
    }

#endif
