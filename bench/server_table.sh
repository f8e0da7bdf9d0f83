#!/usr/bin/env bash
# server_table.sh — the server's requests/s, generated tokens/s, p50/p99 latency, mean time to
# first token and mean rows per decode step for 1, 4, 16 and 64 concurrent clients, with
# continuous batching (the configuration as given) and without (--batch-max-rows 1), in one run,
# one multi30k sentence a request (bench/server_bench.sh does each measurement); a Markdown
# table.
#   bench/server_table.sh BIN SENTENCES SECONDS [attnserve args...]
set -euo pipefail
BIN=$1 SENTS=$2 D=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
printf '| clients | batching | requests/s | tokens/s | p50 | p99 | time to first token | rows/step | errors |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
# server_bench's line "req/s R p50 P p99 Q tokens/s T ttft F rows/step W [errors]" as a table row
row() {
    awk -v c="$1" -v mode="$2" '{
        err = ""; for (i = 13; i <= NF; i++) err = err (i > 13 ? " " : "") $i
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c, mode, $2, $8, $4, $6, $10, $12,
            err == "" ? "none" : err
    }'
}
for c in 1 4 16 64; do
    "$HERE/server_bench.sh" "$BIN" 18801 "$c" "$D" "$SENTS" "$@" --batch-max-rows 1 | row "$c" off
    "$HERE/server_bench.sh" "$BIN" 18802 "$c" "$D" "$SENTS" "$@" | row "$c" on
done
