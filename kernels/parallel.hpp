#pragma once
// A loop over n independent tasks that opens an OpenMP region only when it
// pays: with one thread, or little work, it is a plain loop — even a
// serialised region costs about a microsecond, as much as a whole GEMV.
// The thread count is core/threads.hpp's num_threads(), as for every kernel.
#include <omp.h>

#include <cstdint>
#include <cstdlib>

#include "core/threads.hpp"

namespace bb {

// Work below which a parallel region costs more than it saves: a region's
// fork, join and barrier cost microseconds, and at batch 1 the main job's
// model spent 28–29 % of a forward in them (issue #20) and ran slower on two
// threads than on one (issue #33). Elements: floats a row-wise or elementwise
// op touches; MACs: multiply-adds of a GEMM or an attention. The split of
// work never depends on these (results are the same whatever the count).
// BITBENCH_ALWAYS_PARALLEL=1 opens every region whatever its size, so the
// TSan suites check the parallel code on their small shapes.
constexpr int64_t kParallelMinElements = int64_t{1} << 15;
constexpr int64_t kParallelMinMacs = int64_t{1} << 21;  // ~20 µs of a GEMM on one core
inline const bool kAlwaysParallel = [] {
  const char* v = std::getenv("BITBENCH_ALWAYS_PARALLEL");
  return v != nullptr && v[0] == '1';
}();
inline bool parallel_pays(int64_t elements) { return kAlwaysParallel || elements >= kParallelMinElements; }
inline bool parallel_pays_macs(int64_t macs) { return kAlwaysParallel || macs >= kParallelMinMacs; }
// The threads a GEMM or attention of this many multiply-adds runs on: all of
// num_threads() where a parallel region pays, else 1.
inline int threads_for_macs(int64_t macs) { return parallel_pays_macs(macs) ? num_threads() : 1; }

template <class F>
void parallel_tasks(int64_t n, bool worth_it, F&& task) {
  if (!(worth_it || kAlwaysParallel) || n < 2 || num_threads() < 2) {
    for (int64_t t = 0; t < n; ++t) task(t);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < n; ++t) task(t);
}

}  // namespace bb
