#!/usr/bin/env bash
# engine_table.sh — bench_engine for every way of keeping weights (F32, F16 resident, int8, w8a8)
# with 1 and 2 engine threads, in one run, as a table. Random checkpoints of the opus-mt-en-de
# shape (or the shape options given after BUILD_DIR, passed to bench_engine): F32 for f32, int8
# and w8a8 (quantized at load), the same shape stored as F16 for f16. OpenBLAS runs one thread.
# Run on an idle machine (no training, no fuzzing): the rows are measured one after another.
#
#   bench/engine_table.sh [BUILD_DIR [bench_engine shape options]]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
shift || true
ENGINE=$BUILD/bench/bench_engine
[ -x "$ENGINE" ] || { echo "build first: $ENGINE" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/attnserve-engine-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/f32" "$work/f16"
"$ENGINE" "$@" --write "$work/f32" >/dev/null
"$ENGINE" "$@" --store f16 --write "$work/f16" >/dev/null

field() { sed -n "s/^$1.*/&/p" "$2" | head -1; }
printf '%-5s %3s | %9s %9s | %9s %9s | %8s | %9s | %8s\n' dtype thr "greedy ms" "vs bound" \
    "4 beam ms" "vs bound" "encoder" "peak RSS" "load ms"
for spec in "f32 f32" "f16 auto" "f32 int8" "f32 w8a8"; do
    set -- $spec
    for t in 1 2; do
        out=$work/out.txt
        "$ENGINE" --model "$work/$1" --dtype "$2" --threads 1 --engine-threads "$t" >"$out"
        g=$(sed -n 's/^decoder 1 beam: \([0-9.]*\) ms.*/\1/p' "$out")
        b=$(sed -n 's/^decoder 4 beams: \([0-9.]*\) ms.*/\1/p' "$out")
        gv=$(sed -n 's/^decode_vs_bound: greedy \([0-9.]*\)x.*/\1/p' "$out")
        bv=$(sed -n 's/^decode_vs_bound: .*4 beams \([0-9.]*\)x.*/\1/p' "$out")
        enc=$(sed -n 's/^encoder_efficiency: \([0-9]*%\).*/\1/p' "$out")
        rss=$(sed -n 's/^peak_rss: \([0-9.]*\) MB.*/\1/p' "$out")
        load=$(sed -n 's/^load_ms (second): \([0-9.]*\).*/\1/p' "$out")
        label=$([ "$2" = auto ] && echo f16 || echo "$2")
        printf '%-5s %3s | %9s %8sx | %9s %8sx | %8s | %6s MB | %8s\n' "$label" "$t" "$g" "$gv" \
            "$b" "$bv" "$enc" "$rss" "$load"
    done
done
echo "vs bound: the step's time over (weight bytes it reads / bandwidth measured with as many"
echo "threads); encoder: % of OpenBLAS sgemm's peak with as many threads (64-token source; above"
echo "100% where the engine's AVX-512 panel kernel outruns the sgemm OpenBLAS picks for the CPU);"
echo "peak RSS: the whole process (weights, activations, the child's measurements excluded)."
