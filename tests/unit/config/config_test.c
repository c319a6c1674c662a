/* Helpers shared by the config unit tests: load text and check its diagnostics. */
#include "config_test.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "unit.h"

static bool contains(char **list, size_t n, const char *frag)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(list[i], frag))
            return true;
    return false;
}

bool has_error(const struct config_diag *d, const char *frag)
{
    return contains(d->errors, d->error_count, frag);
}

bool has_warning(const struct config_diag *d, const char *frag)
{
    return contains(d->warnings, d->warning_count, frag);
}

static void dump(const struct config_diag *d)
{
    for (size_t i = 0; i < d->error_count; i++)
        fprintf(stderr, "  error: %s\n", d->errors[i]);
}

/* Loads text that must parse; returns the config (NULL after a recorded failure). */
struct config *load_ok(const char *text, struct config_diag *d)
{
    struct config *c = NULL;
    int rc = config_load_string(text, "t.conf", &c, d);
    if (rc != 0) {
        fprintf(stderr, "unexpected failure %d for:\n%s\n", rc, text);
        dump(d);
    }
    CHECK_EQ_INT(rc, 0);
    return c;
}

/* Loads text that must fail with exactly one error containing every fragment. */
void expect_error3(const char *text, const char *frag1, const char *frag2, const char *frag3)
{
    struct config *c = NULL;
    struct config_diag d;
    int rc = config_load_string(text, "t.conf", &c, &d);
    CHECK_EQ_INT(rc, TERN_ECONFIG);
    CHECK(c == NULL);
    CHECK_EQ_INT(d.error_count, 1);
    if (d.error_count != 1 || !strstr(d.errors[0], frag1) || !strstr(d.errors[0], frag2) ||
        !strstr(d.errors[0], frag3)) {
        fprintf(stderr, "text: %s\nwant: '%s', '%s', '%s'\n", text, frag1, frag2, frag3);
        dump(&d);
        CHECK(!"error message");
    }
    config_free(c);
    config_diag_free(&d);
}

void expect_error(const char *text, const char *frag1, const char *frag2)
{
    expect_error3(text, frag1, frag2, "");
}

struct listener_conf *nth(struct config *c, size_t i)
{
    struct listener_conf *l = c->listeners;
    while (l && i--)
        l = l->next;
    return l;
}
