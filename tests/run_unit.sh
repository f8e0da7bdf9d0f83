#!/usr/bin/env bash
# run_unit.sh — runs every Criterion test binary of a build folder; fails on a failing test, a
# crash, or any sanitizer report (Criterion itself does not fail a test on a leak report).
# Usage: tests/run_unit.sh BUILD_DIR   (run from the source root)
set -uo pipefail
build=${1:?build dir}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir="$build/test-logs"
mkdir -p "$logdir"
fail=0
shopt -s nullglob
tests=("$build"/tests/test_*)
[ ${#tests[@]} -gt 0 ] || { echo "run_unit: no test binaries in $build/tests" >&2; exit 1; }
for t in "${tests[@]}"; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    log="$logdir/$name.log"
    "$t" --jobs 1 >"$log" 2>&1
    rc=$?
    synth=$(grep -a 'Synthesis:' "$log" | tail -n 1)
    if grep -aqE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$log"; then
        echo "FAIL $name: sanitizer report (see $log)"; grep -aE -A3 'ERROR:|runtime error' "$log" | head -20
        fail=1
    elif [ $rc -ne 0 ]; then
        echo "FAIL $name: exit $rc ${synth}"; grep -aE '\[FAIL\]|\[----\]|CRASH' "$log" | head -40
        fail=1
    else
        echo "ok   $name ${synth#*Synthesis: }"
    fi
    grep -a 'SKIP' "$log" | sed "s/^/     $name: /" | head -5
done
exit $fail
