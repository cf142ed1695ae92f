#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each (default 60), one after the
# other, with its seed corpus, and fails if any target crashes. See docs/fuzzing.md.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Environment:
#   FUZZ_BUILD=release|dev  release (default): optimised, with debug assertions and overflow
#                           checks; dev: unoptimised, builds in about a third of the time
#                           (CI's smoke run uses it: it only has to show the targets build
#                           and run)
#   FUZZ_SANITIZER=none     any `cargo fuzz --sanitizer` value (default none: whydns's only
#                           unsafe code, recvmmsg/sendmmsg, is not fuzzed, and ASan halves speed)
#   FUZZ_ARGS="..."         extra libFuzzer flags (e.g. -max_len=8192)
#
# Each target runs as a single libFuzzer process (one fuzzer at a time). New inputs go to
# fuzz/corpus/<target>/ (kept between runs, not in git), crashes to
# fuzz/artifacts/<target>/, the output to fuzz/logs/<target>.log, and one line per run to
# fuzz/logs/history.tsv (date, target, seconds, executions, result).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "scripts/fuzz.sh: SECONDS must be a positive number, not '$seconds'" >&2
  exit 2
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "scripts/fuzz.sh: cargo-fuzz needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "scripts/fuzz.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

flags=(--sanitizer "${FUZZ_SANITIZER:-none}")
case "${FUZZ_BUILD:-release}" in
  release) flags+=(--release --debug-assertions) ;;
  dev) flags+=(--dev) ;;
  *) echo "scripts/fuzz.sh: FUZZ_BUILD is release or dev" >&2; exit 2 ;;
esac

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build "${flags[@]}"

mkdir -p logs
failed=()
printf '%-18s %8s %10s %8s %8s  %s\n' target seconds runs exec/s corpus result
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "seeds/$target" "artifacts/$target"
  log="logs/$target.log"
  start=$(date +%s)
  # shellcheck disable=SC2086
  if cargo +nightly fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    ${FUZZ_ARGS:-} >"$log" 2>&1; then
    result=ok
  else
    result=CRASH
    failed+=("$target")
  fi
  took=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "corpus/$target" -type f | wc -l)
  printf '%-18s %8s %10s %8s %8s  %s\n' "$target" "$took" "${runs:-?}" "${speed:-?}" "$corpus" "$result"
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" "$took" "${runs:-?}" "$result" \
    >>logs/history.tsv
  if [ "$result" != ok ]; then
    grep -E "panicked at|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
    tail -5 "$log" >&2
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "scripts/fuzz.sh: crashes in ${failed[*]}; inputs under fuzz/artifacts/, logs under fuzz/logs/" >&2
  echo "Keep each as fuzz/regressions/<target>/<name> with a test in tests/fuzz_regressions.rs." >&2
  exit 1
fi
