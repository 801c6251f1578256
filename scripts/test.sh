#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. release build: every suite, then the kernel suites with the ISA forced down;
#   2. ASan + UBSan build (clang): every suite again, then each libFuzzer target
#      for BITBENCH_FUZZ_SECONDS (default 30) from its seed corpus;
#   3. TSan build (clang): the threaded loader and kernel suites.
# BITBENCH_SKIP_SANITIZERS=1 stops after step 1 (a quick local check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test  # first: on a bare machine even python3 comes from here
# No function over 120 lines outside tests/ (a driver reads as named steps).
echo "== function lengths"
python3 scripts/long_functions.py --limit 120
export BITBENCH_PROGRESS=plain
jobs="$(nproc)"

echo "== release build"
bash scripts/build.sh release
# On a CPU with AVX-512 VNNI and VPOPCNTDQ the kernel suites must run those
# paths (tests/isa_paths.hpp): a dispatch that fell back fails the run.
require=""
if grep -qw avx512_vnni /proc/cpuinfo && grep -qw avx512_vpopcntdq /proc/cpuinfo; then
  require="avx512,avx512-vnni,avx512-vpopcntdq"
elif grep -qw avx2 /proc/cpuinfo; then
  require="avx2"
fi
echo "== ISA paths required of the kernel suites: ${require:-none (generic only)}"
(cd build && BITBENCH_REQUIRE_ISA="$require" ctest --output-on-failure -j "$jobs")
for suite in kernels bit_gemm; do  # what each loop over the paths ran
  build/tests/test_$suite --gtest_brief=1 | grep -m1 '^\[isa\]' | sed "s/^/test_$suite: /"
done
# The kernel-level suites once more with the dispatch forced down, as a CPU
# without AVX-512 (or without AVX2) would run them.
for isa in avx2 scalar; do
  echo "== release kernel suites forced to BITBENCH_ISA=$isa"
  (cd build && BITBENCH_ISA="$isa" ctest --output-on-failure -j "$jobs" -L '^(kernels|bit_gemm|quant|models)$')
done
[ "${BITBENCH_SKIP_SANITIZERS:-0}" = "1" ] && exit 0

echo "== ASan + UBSan build (clang)"
bash scripts/build.sh asan
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build-asan && BITBENCH_REQUIRE_ISA="$require" ctest --output-on-failure -j "$jobs")

echo "== libFuzzer targets, ${BITBENCH_FUZZ_SECONDS:-30} s each"
bash scripts/fuzz.sh "${BITBENCH_FUZZ_SECONDS:-30}"

echo "== TSan build (clang): threaded loader and kernels"
bash scripts/build.sh tsan
# Zero reports: any report fails the suite (halt_on_error). tests/tsan.supp
# names the only third-party internals excused, and why. Every parallel
# region opens, however small its work (kernels/parallel.hpp).
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
for suite in loader kernels bit_gemm; do
  echo "-- test_$suite (2 threads)"
  OMP_NUM_THREADS=2 BITBENCH_ALWAYS_PARALLEL=1 "build-tsan/tests/test_$suite" --gtest_brief=1
done
