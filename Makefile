# Makefile — the two commands a newcomer needs (make run, make test) and the steps behind them.
BUILD      ?= build
BUILD_ASAN ?= build-asan
CONFIG     ?= config/attnserve.json
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps deps-test build build-asan run test test-unit test-asan clean

all: build

deps:
	@tools/install-deps.sh build

deps-test:
	@tools/install-deps.sh test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps-test
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DATTNSERVE_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD_ASAN) -j $(JOBS)

# Serves the shipped default models on http://localhost:8080.
run: build
	$(BUILD)/server/attnserve --config $(CONFIG)

# Every test: unit tests (normal and sanitizer builds), then the integration suites.
test: deps-test
	$(MAKE) build CMAKE_FLAGS="$(CMAKE_FLAGS) -DATTNSERVE_TESTS=ON"
	$(MAKE) test-unit
	$(MAKE) test-asan

test-unit:
	tests/run_unit.sh $(BUILD)

test-asan: build-asan
	tests/run_unit.sh $(BUILD_ASAN)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
