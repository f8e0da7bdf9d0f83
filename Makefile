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

# Every test: unit tests (normal and sanitizer builds), the integration suites, the browser and
# tool tests, then every fuzz harness for FUZZ_SMOKE_SECONDS.
test: deps-test
	$(MAKE) build CMAKE_FLAGS="$(CMAKE_FLAGS) -DATTNSERVE_TESTS=ON"
	$(MAKE) test-unit
	$(MAKE) test-asan
	$(MAKE) test-integration test-integration-asan
	$(MAKE) test-browser test-tools
	$(MAKE) fuzz-smoke

# With one OpenBLAS thread the engine uses its own AVX-512 row-panel product for 17-384 rows
# (core/ops.c); with more it uses OpenBLAS's sgemm. The parity suites run both ways, and the
# sanitizer build the one-thread way (the hand-written kernel is what it most needs to see).
test-unit:
	tests/run_unit.sh $(BUILD)
	OPENBLAS_NUM_THREADS=1 tests/run_unit.sh $(BUILD)

test-asan: build-asan
	OPENBLAS_NUM_THREADS=1 tests/run_unit.sh $(BUILD_ASAN)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)

# --- Server: OpenAPI check, integration, hostile and concurrency suites (Node 20, node --test) ---
# They start the real attnserve binary on ephemeral ports with tests/fixtures/serve-tiny.
.PHONY: node-deps test-openapi test-integration test-integration-asan

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

node-deps: node_modules/.package-lock.json

test-openapi: node-deps
	ATTNSERVE_BIN=$(BUILD)/server/attnserve node tests/integration/check-openapi.mjs

test-integration: node-deps test-openapi
	ATTNSERVE_BIN=$(BUILD)/server/attnserve node --test --test-concurrency=1 tests/integration/ tests/hostile/

# The API and hostile suites again on the sanitizer build: a leak or memory error makes the
# server's exit status non-zero, which the suites check.
test-integration-asan: node-deps build-asan
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ATTNSERVE_BIN=$(BUILD_ASAN)/server/attnserve node --test --test-concurrency=1 \
	    tests/integration/api.test.mjs tests/integration/libretranslate.test.mjs \
	    tests/integration/multilingual.test.mjs tests/integration/rnn.test.mjs \
	    tests/integration/han.test.mjs tests/integration/stream.test.mjs tests/hostile/

# --- Fuzzing: libFuzzer harnesses (tests/fuzz/) built with clang and ASan/UBSan in $(BUILD_FUZZ).
# fuzz-smoke runs each for FUZZ_SMOKE_SECONDS (CI); fuzz for FUZZ_SECONDS, or FUZZ=name for one.
# The committed seeds and regression inputs also run in make test (test_fuzz_inputs). ---
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 20
FUZZ ?=
FUZZ_RUNS ?=
.PHONY: fuzz-build fuzz fuzz-smoke fuzz-coverage

fuzz-build: deps-test
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNSERVE_FUZZ=ON -DATTNSERVE_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $(patsubst %,fuzz_%,$(or $(FUZZ),safetensors \
	    model_config generation_config tokenizer_json spm_model bpe_files tokenize detokenize \
	    langid config request config_env_flags sharded_index))

fuzz-smoke: fuzz-build
	tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SMOKE_SECONDS) $(FUZZ)

fuzz: fuzz-build
	FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ)

# Source coverage of the corpora `make fuzz` left (per file, llvm-cov): test-artifacts/fuzz/coverage.txt
fuzz-coverage: deps-test
	tests/fuzz/coverage.sh build-fuzzcov $(FUZZ)

# --- Web UI: the UI against a mock API, then end to end in Debian's chromium against the real
# binary (playwright-core); screenshots land in test-artifacts/browser/. ---
.PHONY: test-browser test-tools

test-browser: node-deps
	tests/browser/run.sh $(BUILD)

# --- Offline tools (Python): checkpoint conversion, evaluation metrics. ---
test-tools:
	/usr/bin/python3 -m unittest discover -s tests/tools -v

# --- The container image (CI; not part of make test, since it needs root or sudo, podman and a
# few hundred MB from the Debian mirror): builds deploy/Dockerfile with podman+runc on debootstrap
# base images and checks the running container. See docs/deploy.md#how-ci-tests-the-image. ---
.PHONY: test-image

test-image:
	JOBS=$(JOBS) .ci/image-test.sh
