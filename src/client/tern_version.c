/* tern_version(): the project version compiled in by CMake (TERN_VERSION). */
#include "version.h"

const char *tern_version(void)
{
    return TERN_VERSION;
}
