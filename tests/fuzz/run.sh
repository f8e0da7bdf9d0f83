#!/usr/bin/env bash
# run.sh — runs every libFuzzer harness for SECONDS each on its seeds (tests/fuzz/seeds.list,
# tests/fuzz/seeds/<h>/, tests/fuzz/regressions/<h>/), with the JSON dictionary where the input
# is JSON. Work corpora and any crash inputs go to test-artifacts/fuzz/<h>/ (never into the
# repository). A crash: copy the input into tests/fuzz/regressions/<h>/, fix the bug; the
# Criterion test test_fuzz_inputs then replays it in every `make test`.
# Usage: tests/fuzz/run.sh BUILD_FUZZ_DIR SECONDS [HARNESS...]
# FUZZ_RUNS=N: stop each harness after N executions (or SECONDS, whichever comes first).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=$1
seconds=$2
shift 2
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(safetensors model_config generation_config tokenizer_json
    spm_model bpe_files tokenize detokenize langid config request config_env_flags sharded_index)
json=" model_config generation_config tokenizer_json config safetensors bpe_files request sharded_index "
failed=()
for h in "${harnesses[@]}"; do
    out=test-artifacts/fuzz/$h
    rm -rf "$out"
    mkdir -p "$out/corpus"
    awk -v h="$h" '$1 == h { print $2 }' tests/fuzz/seeds.list | while read -r f; do
        cp "$f" "$out/corpus/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    for d in tests/fuzz/seeds/$h tests/fuzz/regressions/$h; do
        [ -d "$d" ] && cp "$d"/* "$out/corpus/" 2>/dev/null
    done
    dict=()
    [[ $json == *" $h "* ]] && dict=(-dict=tests/fuzz/json.dict)
    echo "fuzz: $h for ${seconds}s"
    runs=()
    [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
    if ! "$build/tests/fuzz/fuzz_$h" "${dict[@]}" "${runs[@]}" -max_total_time="$seconds" -timeout=20 \
        -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 -artifact_prefix="$out/" \
        "$out/corpus" > "$out/log.txt" 2>&1; then
        failed+=("$h")
        echo "fuzz: $h FAILED — tail of $out/log.txt:"
        tail -n 40 "$out/log.txt"
        ls "$out"/crash-* "$out"/timeout-* "$out"/oom-* 2>/dev/null
    else
        grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$out/log.txt" | tail -2
        grep -E "^#[0-9]+" "$out/log.txt" | tail -1 | grep -oE "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+"
    fi
done
echo "fuzz: ${#harnesses[@]} harnesses, ${#failed[@]} failed${failed:+: ${failed[*]}}"
echo "$(( ${#harnesses[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
