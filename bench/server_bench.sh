#!/usr/bin/env bash
# server_bench.sh — requests/s and latency of a running attnserve binary under wrk: starts BIN on
# PORT with the extra arguments, warms up 3 s, then CLIENTS keep-alive clients POST /translate
# with one sentence each (cycling through SENTENCES, one a line) for SECONDS; prints wrk's
# requests/s and p50/p99. Run two binaries one after the other for a side-by-side figure.
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
wrk -t$(( C < 2 ? 1 : 2 )) -c"$C" -d"${D}s" --timeout 10s --latency -s "$LUA" "http://127.0.0.1:$PORT/" |
    grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" | tr -s ' \n' ' '
echo
