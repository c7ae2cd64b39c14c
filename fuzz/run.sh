#!/usr/bin/env bash
# fuzz/run.sh SECONDS [TARGET...]: builds the fuzz targets (release, with debug assertions and
# overflow checks) and runs each for SECONDS, one job, one after the other. Exits non-zero as
# soon as a target finds a crash, a panic, an overflow or a hang (an input that runs > 10 s);
# the input is saved under fuzz/artifacts/TARGET/. Prints one totals line per target.
#
# Targets (default: all): scenario, mock_conn. Needs cargo-fuzz (`cargo install cargo-fuzz
# --locked`); stable Rust runs it with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes nightly-only flags).
# The committed seeds (fuzz/corpus/TARGET) are read, never written: what the fuzzer adds goes to
# fuzz/target/corpus/TARGET, which persists between runs on one machine.
# A finding: fix it, then copy the artifact to fuzz/regressions/TARGET/ (cargo test replays it,
# tests/fuzz_regressions.rs) and give it a named test there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scenario mock_conn)
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
  exit 2
fi
# -a: debug assertions and overflow checks, as in the tests. No sanitizer by default: the code
# under test is safe Rust (ASan finds nothing a panic would not), and without it the targets
# run 7-10x more executions per second and build in half the time (measured here: 4,800-5,100
# vs 450-670 executions/s; 6.4 vs 13.7 CPU minutes). FUZZ_SANITIZER=address brings it back.
build=(-a -s "${FUZZ_SANITIZER:-none}")
cargo fuzz build "${build[@]}"
status=0
for t in "${targets[@]}"; do
  work="fuzz/target/corpus/$t"
  mkdir -p "$work" "fuzz/artifacts/$t"
  log="fuzz/target/fuzz-$t.log"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=("-dict=fuzz/$t.dict")
  echo "fuzz/run.sh: $t for ${secs}s (log: $log)"
  set +e
  cargo fuzz run "${build[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  # (A crash or a timeout prints no final stats: the last progress line has the count.)
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  echo "fuzz/run.sh: $t: ${secs}s, ${execs:-?} executions (${speed:-?}/s), ${cov:-cov: ?}, exit $rc"
  if [ $rc -ne 0 ]; then
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written|deadly signal' "$log" | head -20 >&2 || true
    status=$rc
    break
  fi
done
exit $status
