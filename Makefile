# Thin wrapper over CMake: `make`, `make run`, `make test`. CMake is the one build system.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD := build
ASAN := build/asan
CMAKE_FLAGS ?=

.PHONY: all run test deps test-deps format format-check tidy fuzz clean

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
