#!/usr/bin/env bash
# Runs the libFuzzer targets (fuzz/, built in the ASan + UBSan build,
# build-asan/, by scripts/build.sh asan) from their committed seed corpora
# (fuzz/corpus/<target>/) for SECONDS each (default 30), as many at once as
# there are cores. New inputs go to <build>/fuzz-corpus/<target>/, crashes to
# <build>/fuzz-crashes/<target>/, logs to <build>/fuzz-logs/. Prints each
# target's executions, coverage and corpus size; exit 1 when any target found a
# crash (its log tail is printed).
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 600 safetensors
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors checkpoint idx cifar labels config npy image)
dir="${BITBENCH_FUZZ_BUILD:-build-asan}"
jobs="$(nproc)"  # before OMP_NUM_THREADS is set below: nproc honours it
[ "$dir" = build-asan ] && bash scripts/build.sh asan >/dev/null
cmake --build "$dir" -j "$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_WAIT_POLICY=PASSIVE BITBENCH_PROGRESS=off OMP_NUM_THREADS=1
mkdir -p "$dir/fuzz-logs"

run_one() {
  local t="$1" log="$dir/fuzz-logs/$1.log"
  mkdir -p "$dir/fuzz-corpus/$t" "$dir/fuzz-crashes/$t"
  if "$dir/fuzz/fuzz_$t" "$dir/fuzz-corpus/$t" "fuzz/corpus/$t" -max_total_time="$seconds" -max_len=65536 \
       -rss_limit_mb=2048 -timeout=20 -artifact_prefix="$dir/fuzz-crashes/$t/" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz_$t: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$') executions" \
         "in ${seconds} s, $(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+') edges," \
         "$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+') features," \
         "corpus $(ls "$dir/fuzz-corpus/$t" | wc -l) inputs, no crash"
  else
    echo "fuzz_$t: FOUND A CRASH (log $log, input in $dir/fuzz-crashes/$t/)" >&2
    tail -40 "$log" >&2
    return 1
  fi
}

# As many targets at once as there are cores; every target runs even if one fails.
failed=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" & pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed
