/* tern-bench: the `tern bench` load generator as a standalone program, so the benchmark suite
 * can run without the full CLI. All the work is in src/bench (bench_main). */
#include "bench.h"

int main(int argc, char **argv)
{
    return bench_main(argc, argv);
}
