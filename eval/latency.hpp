#pragma once
// Latency meter with MLPerf's SingleStream (batch 1) / Offline (large batch)
// semantics: warm-up calls first, then timed calls until the mean has settled
// (its relative standard error below `settle`) or the time cap passes.
#include <cstdint>
#include <functional>
#include <vector>

namespace bb {

struct LatencyOptions {
  int warmup = 3;            // untimed calls first
  int min_runs = 10;         // timed calls at least
  double max_seconds = 2.0;  // stop timing after this (at least min_runs are made)
  double settle = 0.01;      // stop once std / sqrt(n) / mean falls below this
};

struct LatencyStats {
  int batch = 0, threads = 0;
  int64_t runs = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, mean_ms = 0, std_ms = 0, min_ms = 0;
  double images_per_s = 0;  // batch / mean
  bool settled = false;     // the spread settled before the time cap
};

// Times run() (one batch of `batch` images). threads is recorded, not set.
LatencyStats measure_latency(const std::function<void()>& run, int batch, int threads, const LatencyOptions& o);

// Nearest-rank percentile (q in [0, 100]) of samples (sorted in place).
double percentile(std::vector<double>& samples, double q);

}  // namespace bb
