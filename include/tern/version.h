/* libtern's own version, for applications that check at run time which library they linked
 * (the headers carry no version macros). Thread-safe (no state). */
#ifndef TERN_PUBLIC_VERSION_H
#define TERN_PUBLIC_VERSION_H

/* The library version as "MAJOR.MINOR.PATCH" (the project version it was built from, equal to
 * `pkg-config --modversion libtern`); a static string, never NULL. */
const char *tern_version(void);

#endif
