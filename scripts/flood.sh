#!/usr/bin/env bash
# Floods a whydns resolver, recursing through the lab on loopback, with NAMES distinct
# names (each a fresh signed wildcard answer: an upstream query, a validation and a cache
# entry apiece), then with a BURST_QPS burst of repeated names, and reports peak RSS
# against the configured cache bounds, and the answers lost.
#   NAMES=1000000 BURST_QPS=100000 BURST_SECONDS=5 bash scripts/flood.sh
# Needs dnsperf (installed here if missing). Everything stays on 127.0.0.0/8.
set -euo pipefail
cd "$(dirname "$0")/.."
NAMES=${NAMES:-1000000}
BURST_QPS=${BURST_QPS:-100000}
BURST_SECONDS=${BURST_SECONDS:-5}
CLIENTS=${CLIENTS:-20}
LAB_PORT=${LAB_PORT:-5391}
PORT=${PORT:-5392}
WORK=$(mktemp -d /tmp/whydns-flood.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

command -v dnsperf >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsperf >/dev/null; }
cargo build --release -q
BIN=target/release/whydns

$BIN lab --no-resolver --no-control --port "$LAB_PORT" --out "$WORK/lab" >"$WORK/lab.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$WORK/lab/lab-root.hints" ] && break; sleep 0.2; done

# The bounds under test: the defaults, written out so the report can quote them.
cat >"$WORK/whydns.toml" <<CONF
[cache]
records_mib = 64
negative_mib = 16
delegations_mib = 8
keys_mib = 8
answers_mib = 32
answers = ${ANSWERS:-20000}
packets_mib = 16
[explain]
max_mib = 64
CONF
CONTROL=${CONTROL:-5393}
$BIN serve --config "$WORK/whydns.toml" --listen "127.0.0.1:$PORT" --control "127.0.0.1:$CONTROL" \
  --root-hints "$WORK/lab/lab-root.hints" --trust-anchor "$WORK/lab/lab-root.ds" \
  --upstream-port "$LAB_PORT" >"$WORK/whydns.log" 2>&1 &
WHYDNS=$!; pids+=($WHYDNS); sleep 1

# What each cache holds (whydns_cache_bytes), in MiB, from the control API's /metrics.
held() {
  curl -s "http://127.0.0.1:$CONTROL/metrics" | awk '
    /^whydns_cache_bytes\{/ { match($0, /cache="[a-z]+"/); c = substr($0, RSTART + 7, RLENGTH - 8);
                              printf "%s %.1f MiB, ", c, $2 / 1048576 }
    /^whydns_explanations_bytes / { printf "explanations %.1f MiB", $2 / 1048576 }'
  echo
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
run() { # file extra-args... -> "sent completed lost"
  local file=$1; shift
  dnsperf -s 127.0.0.1 -p "$PORT" -d "$file" -c "$CLIENTS" -q 500 -t 5 "$@" >"$WORK/run.txt" 2>&1 || true
  python3 - "$WORK/run.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
num = lambda key: int(re.search(key + r":\s+(\d+)", text).group(1)) if re.search(key + r":\s+(\d+)", text) else 0
print(num("Queries sent"), num("Queries completed"), num("Queries lost"))
PY
}

python3 -c "
import sys
for i in range(int(sys.argv[1])):
    print(f'n{i}.wildcard.lab. A')
" "$NAMES" >"$WORK/distinct.txt"
echo "== $NAMES distinct names (each resolved and validated), $CLIENTS clients"
echo "RSS before: $(rss_kib $WHYDNS) KiB"
t0=$(date +%s.%N)
read -r sent done lost < <(run "$WORK/distinct.txt" -n 1)
t1=$(date +%s.%N)
echo "sent $sent, answered $done, lost $lost in $(python3 -c "print(f'{$t1-$t0:.1f}')") s"
echo "RSS after: $(rss_kib $WHYDNS) KiB, peak $(hwm_kib $WHYDNS) KiB"
echo "held: $(held)"

head -1000 "$WORK/distinct.txt" >"$WORK/burst.txt"
echo "== burst: $BURST_QPS qps offered for ${BURST_SECONDS}s over 1,000 cached names"
read -r sent done lost < <(run "$WORK/burst.txt" -l "$BURST_SECONDS" -Q "$BURST_QPS")
echo "sent $sent, answered $done, lost $lost"
echo "RSS after: $(rss_kib $WHYDNS) KiB, peak $(hwm_kib $WHYDNS) KiB"
echo "configured bounds: records 64 MiB, negative 16 MiB, delegations 8 MiB, keys 8 MiB, answers 32 MiB, explanation log 64 MiB, packets 16 MiB"
