/* Shared helpers of the config unit tests and the tests of test_config_values.c. */
#ifndef TERN_TESTS_CONFIG_TEST_H
#define TERN_TESTS_CONFIG_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

bool has_error(const struct config_diag *d, const char *frag);
bool has_warning(const struct config_diag *d, const char *frag);
/* Loads text (as "t.conf") that must parse; the config, or NULL after a recorded failure. */
struct config *load_ok(const char *text, struct config_diag *d);
/* Loads text that must fail with exactly one error containing every fragment. */
void expect_error3(const char *text, const char *frag1, const char *frag2, const char *frag3);
void expect_error(const char *text, const char *frag1, const char *frag2);
/* The i-th listener or NULL. */
struct listener_conf *nth(struct config *c, size_t i);

/* test_config_values.c */
void test_good_values(void);
void test_string_values(void);
void test_bad_values(void);
void test_every_option_recognised(void);
void test_persistent_client_expiration(void);
void test_logging(void);

#endif
