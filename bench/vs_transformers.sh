#!/usr/bin/env bash
# vs_transformers.sh — attnserve against Hugging Face transformers on the same random checkpoint
# of the opus-mt-en-de shape (bench_engine --write: Marian 6+6 layers, d 512, vocab 58101), greedy,
# batch 1, NEW new tokens (eos banned until then, so every step runs), measured side by side in
# one run. A development aid: transformers comes from the oracle of ../shared/oracle (see its
# README), never from the build or the tests. Run on an idle machine (no training, no fuzzing).
#
#   export ORACLE_ROOT=/tmp/oracle   # after ../shared/oracle/setup.sh
#   bench/vs_transformers.sh [BUILD_DIR]     (NEW=32 REPS=5 TORCH_THREADS=2 TMPDIR=/tmp)
#
# transformers: one process, the model loaded once, torch with TORCH_THREADS threads, F32.
# attnserve: each run a whole `attnserve-cli generate` process (load included), weights kept as
# F32, F16 (the checkpoint written as F16), int8 or w8a8 (quantized at load from the F32
# checkpoint, and from the int8 checkpoint tools/quantize_int8.py writes of it: "int8 ckpt",
# whose load is a mapping), with 1 and 2 engine threads. Both sides time 1 and NEW new tokens (best of REPS);
# "decode tok/s" = (NEW - 1) / (t_NEW - t_1): the steps alone, without load, encoder and first
# step, on both sides; "ratio" is attnserve's decode rate over transformers'. "process s" is the
# whole attnserve process for NEW tokens (load, encoder, NEW steps). The F32 and F16 runs must
# produce transformers' ids exactly ("ids" column).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
NEW=${NEW:-32}
REPS=${REPS:-7}
TORCH_THREADS=${TORCH_THREADS:-2}
CLI=$BUILD/cli/attnserve-cli
ENGINE=$BUILD/bench/bench_engine
: "${ORACLE_ROOT:?set ORACLE_ROOT to the transformers oracle (../shared/oracle/README.md)}"
# shellcheck disable=SC1091
. "$ROOT/../shared/oracle/env.sh"
[ -x "$CLI" ] && [ -x "$ENGINE" ] || { echo "build first: $CLI, $ENGINE" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/attnserve-vs-hf-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/f32" "$work/f16"
"$ENGINE" --write "$work/f32" >/dev/null
"$ENGINE" --store f16 --write "$work/f16" >/dev/null
/usr/bin/python3 "$ROOT/tools/quantize_int8.py" "$work/f32" "$work/q8" >/dev/null
# a 32-token source: 31 ids spread over the vocabulary, then eos (0)
ids=$($PY -c "print(','.join(str(5 + (i * 7919) % 58091) for i in range(31)) + ',0')")

hf=$($PY "$ROOT/bench/hf_generate_speed.py" "$work/f32" --input-ids "$ids" --new "$NEW" \
       --threads "$TORCH_THREADS" --reps "$REPS")
hf_rate=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['decode_tokens_per_s'])" "$hf")
hf_ids=$($PY -c "import json,sys; print(','.join(map(str, json.loads(sys.argv[1])['ids'])))" "$hf")

now() { date +%s.%N; }
# best wall time of REPS whole processes generating $1 new tokens; the last output in $work/out
best_run() {
    local new=$1 dir=$2 dtype=$3 threads=$4 best=1e30 t0 t1
    for _ in $(seq "$REPS"); do
        t0=$(now)
        "$CLI" generate --model "$dir" --input-ids "$ids" --dtype "$dtype" --threads "$threads" \
            --num-beams 1 --max-new-tokens "$new" --min-length $((new + 1)) >"$work/out"
        t1=$(now)
        best=$($PY -c "print(min($best, $t1 - $t0))")
    done
    echo "$best"
}

printf 'transformers %s (torch %s threads, F32): decode %.1f tokens/s, generate %d tokens %.3f s\n' \
    "$($PY -c 'import transformers; print(transformers.__version__)')" "$TORCH_THREADS" "$hf_rate" \
    "$NEW" "$($PY -c "import json,sys; print(json.loads(sys.argv[1])['t_new'])" "$hf")"
printf '%-15s %-8s %14s %8s %10s %s\n' weights threads "decode tok/s" ratio "process s" ids
for spec in "f32 f32 1" "f32 f32 2" "f16 auto 1" "f16 auto 2" "f32 int8 1" "f32 int8 2" \
            "q8 int8 1" "q8 int8 2" "f32 w8a8 1" "f32 w8a8 2" "q8 w8a8 1" "q8 w8a8 2"; do
    set -- $spec
    dir=$work/$1 dtype=$2 threads=$3
    t1=$(best_run 1 "$dir" "$dtype" "$threads")
    tn=$(best_run "$NEW" "$dir" "$dtype" "$threads")
    got=$($PY -c "import json; print(','.join(map(str, json.load(open('$work/out'))['sequences'][0])))")
    same=$([ "$got" = "$hf_ids" ] && echo "= transformers" || echo "differ")
    label=$([ "$dtype" = auto ] && echo f16 || echo "$dtype")
    [ "$1" = q8 ] && label="$label (int8 ckpt)"
    $PY -c "
r = ($NEW - 1) / ($tn - $t1)
print('%-15s %-8s %14.1f %7.2fx %10.3f %s' % ('$label', '$threads', r, r / $hf_rate, $tn, '$same'))"
done
