#!/usr/bin/env bash
# server_bench.sh — requests/s and latency of a running attnserve binary under wrk: starts BIN on
# PORT with the extra arguments, warms up 3 s, then CLIENTS keep-alive clients POST /translate
# with one sentence each (cycling through SENTENCES, one a line) for SECONDS. Prints one line:
# wrk's requests/s and p50/p99 latency; from the server's /metrics before and after the run,
# generated tokens/s, the mean time to first token and the mean rows per decode step; and
# wrk's non-2xx answers and socket errors when there are any. Run two binaries one after the
# other for a side-by-side figure.
#   bench/server_bench.sh BIN PORT CLIENTS SECONDS SENTENCES [attnserve args...]
# e.g. zcat ../shared/data/multi30k/test_2016_flickr.en.gz | head -500 > /tmp/s.txt
#      bench/server_bench.sh build/server/attnserve 18782 16 15 /tmp/s.txt --config config/attnserve.json
set -euo pipefail
BIN=$1 PORT=$2 C=$3 D=$4 SENTS=$5
shift 5
command -v wrk >/dev/null || { echo "server_bench: needs wrk (apt-get install wrk)" >&2; exit 1; }
LUA=$(mktemp --suffix=.lua)
cat >"$LUA" <<LUA
local s = {}
for l in io.lines("$SENTS") do s[#s + 1] = l:gsub('\\\\', '\\\\\\\\'):gsub('"', '\\\\"') end
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/translate", {["Content-Type"] = "application/json"},
    '{"text":"' .. s[(i % #s) + 1] .. '","source_lang":"en","target_lang":"de"}')
end
LUA
"$BIN" --port "$PORT" "$@" >"/tmp/server_bench-$PORT.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$LUA"' EXIT
for _ in $(seq 1 150); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
wrk -t$(( C < 2 ? 1 : 2 )) -c"$C" -d3s -s "$LUA" "http://127.0.0.1:$PORT/" >/dev/null
# the counters this run adds: output tokens, time to first token (sum, count), decode rows (sum,
# count), summed over the models
metrics() {
    curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '
        /^attnserve_output_tokens_total/ { t += $NF }
        /^attnserve_time_to_first_token_seconds_sum/ { fs += $NF }
        /^attnserve_time_to_first_token_seconds_count/ { fc += $NF }
        /^attnserve_batch_rows_sum/ { rs += $NF }
        /^attnserve_batch_rows_count/ { rc += $NF }
        END { printf "%.0f %.9f %.0f %.0f %.0f\n", t, fs, fc, rs, rc }'
}
before=$(metrics)
out=$(wrk -t$(( C < 2 ? 1 : 2 )) -c"$C" -d"${D}s" --timeout 10s --latency -s "$LUA" \
    "http://127.0.0.1:$PORT/")
after=$(metrics)
printf '%s\n' "$out" | awk -v b="$before" -v a="$after" -v d="$D" '
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = $2 }
    $1 == "99%" { p99 = $2 }
    /Non-2xx/ { bad = bad " non-2xx " $NF }
    /Socket errors/ { sub(/^ *Socket errors: */, ""); bad = bad " socket errors: " $0 }
    END {
        split(b, x, " "); split(a, y, " ")
        ttft = y[3] > x[3] ? 1000 * (y[2] - x[2]) / (y[3] - x[3]) : 0
        rows = y[5] > x[5] ? (y[4] - x[4]) / (y[5] - x[5]) : 0
        printf "req/s %s p50 %s p99 %s tokens/s %.0f ttft %.1fms rows/step %.1f%s\n",
            rps, p50, p99, (y[1] - x[1]) / d, ttft, rows, bad
    }'
