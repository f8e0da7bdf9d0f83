#!/usr/bin/env bash
# coverage.sh — source coverage of the fuzz corpora: builds the harnesses with clang's source-based
# coverage (-fprofile-instr-generate -fcoverage-mapping) in BUILD_COV, replays each harness's
# corpus (test-artifacts/fuzz/<h>/corpus, left by `make fuzz`, else its seeds) once with
# -runs=0, merges the profiles and prints llvm-cov's per-file report of the code the harnesses
# reach (core/, config/, server/). Writes test-artifacts/fuzz/coverage.txt.
# Usage: tests/fuzz/coverage.sh [BUILD_COV] [HARNESS...]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fuzzcov}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(safetensors model_config generation_config tokenizer_json
    spm_model bpe_files tokenize detokenize langid config request config_env_flags sharded_index)
flags="-fprofile-instr-generate -fcoverage-mapping"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNSERVE_FUZZ=ON -DATTNSERVE_TESTS=OFF \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" > /dev/null || exit 1
cmake --build "$build" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${harnesses[@]}") > /dev/null || exit 1
out=test-artifacts/fuzz
mkdir -p "$out/profiles"
rm -f "$out"/profiles/*.profraw
objs=()
for h in "${harnesses[@]}"; do
    corpus=$out/$h/corpus
    if [ ! -d "$corpus" ]; then
        corpus=$(mktemp -d)
        awk -v h="$h" '$1 == h { print $2 }' tests/fuzz/seeds.list | while read -r f; do cp "$f" "$corpus/"; done
        for d in tests/fuzz/seeds/$h tests/fuzz/regressions/$h; do [ -d "$d" ] && cp "$d"/* "$corpus/" 2>/dev/null; done
    fi
    LLVM_PROFILE_FILE="$out/profiles/$h.profraw" "$build/tests/fuzz/fuzz_$h" -runs=0 \
        -rss_limit_mb=4096 -max_len=1048576 "$corpus" > "$out/profiles/$h.log" 2>&1
    echo "coverage: $h replayed $(ls "$corpus" | wc -l) inputs"
    objs+=(-object "$build/tests/fuzz/fuzz_$h")
done
llvm-profdata merge -sparse "$out"/profiles/*.profraw -o "$out/profiles/all.profdata" || exit 1
llvm-cov report "${objs[@]:1}" -instr-profile="$out/profiles/all.profdata" \
    -ignore-filename-regex='(tests/|/usr/)' | tee "$out/coverage.txt"
