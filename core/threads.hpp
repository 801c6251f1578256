#pragma once
// One place that decides how many threads compute uses. oneDNN in Debian uses
// the OpenMP runtime, so setting OpenMP's count sets oneDNN's too.
namespace bb {

// Cores available to this process (affinity mask aware).
int hardware_threads();
// n <= 0 means all available cores. Returns the count now in force.
int set_num_threads(int n);
// The count set last (all cores until set_num_threads is called).
int num_threads();

}  // namespace bb

#include <cstdint>
#include <functional>

namespace bb {

// Runs fn(i, worker) for i in [0, n) on `workers` threads (contiguous chunks,
// worker 0 is the calling thread). The first exception thrown by any call is
// rethrown here after all threads have stopped; the others stop early.
void parallel_for(int64_t n, int workers, const std::function<void(int64_t i, int worker)>& fn);

}  // namespace bb
