/* Time sources. The core takes "now" as a parameter so tests can inject it; these read the OS. */
#ifndef TERN_BASE_CLOCK_H
#define TERN_BASE_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t clock_mono_ms(void);
/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t clock_mono_ns(void);
/* Seconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_s(void);

#endif
