# Thin wrapper over CMake: `make`, `make run`, `make test`. CMake is the one build system.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD := build
ASAN := build/asan
CMAKE_FLAGS ?=

.PHONY: all run test test-tsan deps test-deps format format-check tidy fuzz clean

all:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

run: deps all
	exec $(BUILD)/ternd

test: test-deps
	cmake --preset asan $(CMAKE_FLAGS)
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ctest --output-on-failure -j $(JOBS) --timeout 600

# ThreadSanitizer over the tests that run threads: the loop's cross-thread wake, the RCU tree,
# and the real broker with several workers (integration and stress tests).
TSAN_TESTS ?= unit_net|unit_core|integ_

test-tsan: test-deps
	cmake --preset tsan $(CMAKE_FLAGS)
	cmake --build build/tsan -j $(JOBS)
	cd build/tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		ctest --output-on-failure -j $(JOBS) --timeout 600 -R '$(TSAN_TESTS)'

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

tidy: all
	git ls-files 'src/*.c' | xargs clang-tidy -p $(BUILD) --quiet

fuzz:
	cmake --preset fuzz
	cmake --build build/fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD)
