#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the release build,
# then the ASan + UBSan build (skip the latter with BITBENCH_SKIP_ASAN=1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
export BITBENCH_PROGRESS=plain
jobs="$(nproc)"

echo "== release build"
bash scripts/build.sh release
(cd build && ctest --output-on-failure -j "$jobs")
# The kernel-level suites once more with the dispatch forced down, as a CPU
# without AVX-512 (or without AVX2) would run them.
for isa in avx2 scalar; do
  echo "== release kernel suites forced to BITBENCH_ISA=$isa"
  (cd build && BITBENCH_ISA="$isa" ctest --output-on-failure -j "$jobs" -L '^(kernels|bit_gemm|quant|models)$')
done

if [ "${BITBENCH_SKIP_ASAN:-0}" != "1" ]; then
  echo "== ASan + UBSan build"
  bash scripts/build.sh asan
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  (cd build-asan && ctest --output-on-failure -j "$jobs")
fi
