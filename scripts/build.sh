#!/usr/bin/env bash
# Configures and builds one flavour, incrementally when run again:
#   release  build/       GCC, Release: the binaries, tests and benchmarks
#                         (with MPI when OpenMPI is installed)
#   asan     build-asan/  clang, AddressSanitizer + UndefinedBehaviorSanitizer,
#                         every test plus the libFuzzer targets (fuzz/)
#   tsan     build-tsan/  clang, ThreadSanitizer: the threaded loader and
#                         kernel suites only (test_loader, test_kernels, test_bit_gemm)
# Targets after the flavour build only those (run.sh: `release bitbench`); the
# test command then builds the rest in the same folder, reusing what is built
# (turning MPI on recompiles core/comm.cpp only).
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
jobs="$(nproc)"
targets=()
compiler=()
case "$flavour" in
  # MPI (sharded evaluation, data-parallel training) when OpenMPI's compiler
  # wrapper is installed (install-deps.sh --test installs it); else without.
  release) dir=build;      flags=(-DCMAKE_BUILD_TYPE=Release "-DBITBENCH_MPI=$(command -v mpicxx >/dev/null && echo ON || echo OFF)") ;;
  asan)    dir=build-asan; compiler=(CC=clang CXX=clang++)
           flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITBENCH_SANITIZE=ON -DBITBENCH_FUZZ=ON -DBITBENCH_BUILD_BENCH=OFF) ;;
  tsan)    dir=build-tsan; compiler=(CC=clang CXX=clang++)
           flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITBENCH_TSAN=ON -DBITBENCH_BUILD_BENCH=OFF)
           targets=(--target test_loader test_kernels test_bit_gemm) ;;
  *) echo "usage: scripts/build.sh [release|asan|tsan] [TARGET...]" >&2; exit 2 ;;
esac
shift || true
for t in "$@"; do targets+=(--target "$t"); done
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  env "${compiler[@]}" cmake -S . -B "$dir" "${generator[@]}" "${flags[@]}"
else
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null  # the flags may have changed (MPI installed since)
fi
cmake --build "$dir" -j "$jobs" "${targets[@]}"
