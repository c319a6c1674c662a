/* An application built against an installed libtern with nothing but
 * `pkg-config --cflags --libs libtern` (tests/unit/client/pkgconfig_test.sh). It touches the
 * parts that pull in the libraries libtern needs (the client: OpenSSL; password hashes:
 * libargon2) and prints "libtern VERSION". Exit status 0 when every call behaved. */
#include <stdio.h>
#include <string.h>
#include <tern/tern.h>

#include "client.h" /* the second include directory of the .pc file */

int main(void)
{
    struct tern_client *c = tern_client_new(NULL, NULL);
    if (!c)
        return 1;
    struct tern_connect_options o;
    memset(&o, 0, sizeof o);
    o.version = 9; /* invalid: refused before any socket is opened */
    int bad = tern_client_connect(c, &o, 0) != TERN_ERROR_INVAL;
    tern_client_free(c);
    char line[256];
    bad |= tern_passwd_make("u", "pw", TERN_PASSWD_ARGON2ID, 0, line, sizeof line) != 0;
    bad |= tern_passwd_check(line, "pw") != 0;
    bad |= !tern_topic_matches("a/+", "a/b");
    if (bad)
        return 1;
    printf("libtern %s\n", tern_version());
    return 0;
}
