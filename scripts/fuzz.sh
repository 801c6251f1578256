#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/: fuzzer + ASan + UBSan)
# and runs each from its committed seed corpus (fuzz/corpus/<target>/) for
# SECONDS (default 30). New inputs go to build-fuzz/corpus/<target>/, crashes
# to build-fuzz/crashes/<target>/. Exit 1 when any target found a crash.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 600 safetensors
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors checkpoint idx cifar labels config npy)
dir=build-fuzz
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITBENCH_FUZZ=ON \
    -DBITBENCH_BUILD_TESTS=OFF -DBITBENCH_BUILD_BENCH=OFF
fi
cmake --build "$dir" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}")
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_WAIT_POLICY=PASSIVE BITBENCH_PROGRESS=off
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t" "$dir/crashes/$t"
  log="$dir/fuzz_$t.log"
  if "$dir/fuzz/fuzz_$t" "$dir/corpus/$t" "fuzz/corpus/$t" -max_total_time="$seconds" -max_len=65536 \
       -rss_limit_mb=2048 -timeout=20 -artifact_prefix="$dir/crashes/$t/" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz_$t: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$') executions," \
         "$(grep -Eo 'cov: [0-9]+' "$log" | tail -1) edges, corpus $(ls "$dir/corpus/$t" | wc -l) inputs, no crash"
  else
    echo "fuzz_$t: FOUND A CRASH (see $log and $dir/crashes/$t/)" >&2
    tail -30 "$log" >&2
    failed=1
  fi
done
exit $failed
