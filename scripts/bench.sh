#!/usr/bin/env bash
# Benchmarks whydns against unbound, both recursing (and validating) through the same lab
# on loopback, with the lab's root hints and trust anchor.
#   - cache hits: dnsperf for DURATION seconds over the lab names that resolve, after a warm-up
#   - cold: every lab scenario's query once, from an empty cache
# Prints queries per second, whydns/unbound ratio, p50/p99 latency and peak RSS.
# Needs root (the lab serves on port 53, as unbound cannot follow referrals to other ports),
# dnsperf and unbound (installed here if missing). Everything stays on 127.0.0.0/8.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
# One core for the resolver under test, the other for dnsperf, so the two resolvers get the
# same CPU and the load generator does not steal from them (this machine has 2 cores).
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
CLIENTS=${CLIENTS:-20}
WORK=$(mktemp -d /tmp/whydns-bench.XXXXXX)
WHYDNS_PORT=5301
UNBOUND_PORT=5302
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

for tool in dnsperf unbound; do
  command -v "$tool" >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsperf unbound >/dev/null; }
done
cargo build --release -q
BIN=target/release/whydns

$BIN lab --no-resolver --out "$WORK/lab" >"$WORK/lab.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$WORK/lab/lab-root.hints" ] && break; sleep 0.2; done

# Lab names that resolve (NOERROR/NXDOMAIN) for the cache-hit run; every scenario for the cold run.
$BIN lab --list | awk 'NR>1 {print $3, $4, $5}' >"$WORK/all.txt"
awk '$3 != "SERVFAIL" {print $1, $2}' "$WORK/all.txt" >"$WORK/hits.txt"
awk '{print $1, $2}' "$WORK/all.txt" >"$WORK/cold.txt"

start_whydns() {
  taskset -c "$SERVER_CPU" $BIN serve --listen "127.0.0.1:$WHYDNS_PORT" --root-hints "$WORK/lab/lab-root.hints" \
    --trust-anchor "$WORK/lab/lab-root.ds" >"$WORK/whydns.log" 2>&1 &
  WHYDNS_PID=$!; pids+=($WHYDNS_PID); sleep 0.5
}
start_unbound() {
  cat >"$WORK/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$UNBOUND_PORT
  port: $UNBOUND_PORT
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$WORK"
  pidfile: ""
  use-syslog: no
  logfile: "$WORK/unbound.log"
  num-threads: 1
  do-not-query-localhost: no
  root-hints: "$WORK/lab/lab-root.hints"
  module-config: "validator iterator"
  trust-anchor-file: "$WORK/lab/lab-root.ds"
  discard-timeout: 0
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
remote-control:
  control-enable: no
CONF
  taskset -c "$SERVER_CPU" unbound -c "$WORK/unbound.conf" &
  UNBOUND_PID=$!; pids+=($UNBOUND_PID); sleep 0.5
}
rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# dnsperf -v prints "> RCODE name type seconds" per query: percentiles from those lines.
measure() { # port file seconds -> "qps p50_ms p99_ms"
  taskset -c "$LOAD_CPU" dnsperf -s 127.0.0.1 -p "$1" -d "$2" -l "$3" -c "$CLIENTS" -q 200 -v 2>/dev/null >"$WORK/run.txt" || true
  python3 - "$WORK/run.txt" <<'PY'
import sys, re
lat = []; qps = 0.0
for line in open(sys.argv[1]):
    if line.startswith('> '):
        try:
            lat.append(float(line.split()[-1]))
        except ValueError:
            pass  # a query that timed out carries no latency
    m = re.search(r'Queries per second:\s+([\d.]+)', line)
    if m: qps = float(m.group(1))
lat.sort()
p = lambda q: lat[min(len(lat)-1, int(q*len(lat)))]*1000 if lat else float('nan')
print(f"{qps:.0f} {p(0.50):.3f} {p(0.99):.3f}")
PY
}
cold() { # port -> seconds to resolve every scenario once, sequentially
  local t0 t1; t0=$(date +%s.%N)
  dnsperf -s 127.0.0.1 -p "$1" -d "$WORK/cold.txt" -n 1 -c 1 -q 1 -t 15 >/dev/null 2>&1 || true
  t1=$(date +%s.%N); python3 -c "print(f'{$t1-$t0:.2f}')"
}

echo "== cold: all $(wc -l <"$WORK/cold.txt") scenario queries, one at a time, empty cache"
start_whydns; W_COLD=$(cold $WHYDNS_PORT)
start_unbound; U_COLD=$(cold $UNBOUND_PORT)
echo "whydns ${W_COLD}s  unbound ${U_COLD}s"

echo "== cache hits: $(wc -l <"$WORK/hits.txt") names, ${DURATION}s, $CLIENTS clients"
dnsperf -s 127.0.0.1 -p $WHYDNS_PORT -d "$WORK/hits.txt" -n 2 >/dev/null 2>&1 || true
dnsperf -s 127.0.0.1 -p $UNBOUND_PORT -d "$WORK/hits.txt" -n 2 >/dev/null 2>&1 || true
# Alternate the two, ROUNDS times each, and report the median round of each.
: >"$WORK/rounds.txt"
for round in $(seq "$ROUNDS"); do
  echo "whydns $(measure $WHYDNS_PORT "$WORK/hits.txt" "$DURATION")" >>"$WORK/rounds.txt"
  echo "unbound $(measure $UNBOUND_PORT "$WORK/hits.txt" "$DURATION")" >>"$WORK/rounds.txt"
done
W_RSS=$(rss_kib $WHYDNS_PID); U_RSS=$(rss_kib $UNBOUND_PID)
python3 - "$WORK/rounds.txt" "$W_RSS" "$U_RSS" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    who, qps, p50, p99 = line.split()
    rows.setdefault(who, []).append((float(qps), float(p50), float(p99)))
rss = {"whydns": sys.argv[2], "unbound": sys.argv[3]}
print(f"{'':8} {'qps (median)':>13} {'p50 ms':>8} {'p99 ms':>8} {'peak RSS KiB':>13}  rounds (qps)")
median = {}
for who in ("whydns", "unbound"):
    runs = sorted(rows[who])
    mid = runs[len(runs) // 2]
    median[who] = mid[0]
    print(f"{who:8} {mid[0]:13.0f} {mid[1]:8.3f} {mid[2]:8.3f} {rss[who]:>13}  {' '.join(f'{r[0]:.0f}' for r in rows[who])}")
print(f"ratio whydns/unbound (cache-hit qps, medians): {median['whydns'] / median['unbound']:.2f}")
PY
