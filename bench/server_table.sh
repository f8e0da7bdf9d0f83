#!/usr/bin/env bash
# server_table.sh — the server's requests/s and p50/p99 for 1, 4, 16 and 64 concurrent clients,
# with continuous batching (the configuration as given) and without (--batch-max-rows 1), in one
# run, one multi30k sentence a request (bench/server_bench.sh does each measurement).
#   bench/server_table.sh BIN SENTENCES SECONDS [attnserve args...]
set -euo pipefail
BIN=$1 SENTS=$2 D=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
printf '| clients | no batching | continuous batching |\n|---|---|---|\n'
for c in 1 4 16 64; do
    off=$("$HERE/server_bench.sh" "$BIN" 18801 "$c" "$D" "$SENTS" "$@" --batch-max-rows 1)
    on=$("$HERE/server_bench.sh" "$BIN" 18802 "$c" "$D" "$SENTS" "$@")
    printf '| %s | %s | %s |\n' "$c" "$off" "$on"
done
