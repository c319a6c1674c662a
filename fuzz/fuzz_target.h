/* The libFuzzer entry point every fuzz target in this directory defines. The same target is linked
 * either with libFuzzer (-fsanitize=fuzzer, clang only) or with replay_main.c, which replays
 * corpus files through it in any build. */
#ifndef TERN_FUZZ_FUZZ_TARGET_H
#define TERN_FUZZ_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input. Returns 0; aborts (crashes) when an invariant of the code under test breaks.
 * Must not leak: every allocation it makes is released before it returns. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
