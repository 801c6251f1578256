#pragma once
// A loop over n independent tasks that opens an OpenMP region only when it
// pays: with one thread, or little work, it is a plain loop — even a
// serialised region costs about a microsecond, as much as a whole GEMV.
// The thread count is core/threads.hpp's num_threads(), as for every kernel.
#include <omp.h>

#include <cstdint>

#include "core/threads.hpp"

namespace bb {

template <class F>
void parallel_tasks(int64_t n, bool worth_it, F&& task) {
  if (!worth_it || n < 2 || num_threads() < 2) {
    for (int64_t t = 0; t < n; ++t) task(t);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < n; ++t) task(t);
}

}  // namespace bb
