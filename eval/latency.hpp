#pragma once
// A latency point's figures (the meter is eval/latency_rounds.hpp) and the
// nearest-rank percentile they use.
#include <cstdint>
#include <vector>

namespace bb {

struct LatencyStats {
  int batch = 0, threads = 0;
  int64_t runs = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, mean_ms = 0, std_ms = 0, min_ms = 0;
  double images_per_s = 0;  // batch / mean
  bool settled = false;     // the spread settled before the time cap (interleaved rounds: always)
};

// Nearest-rank percentile (q in [0, 100]) of samples (sorted in place).
double percentile(std::vector<double>& samples, double q);

}  // namespace bb
