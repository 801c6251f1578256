#pragma once
// Interleaved latency rounds: the teacher and every model under test timed
// turn by turn at one (batch, threads) point — round r visits them in an order
// rotated by r — so a VM whose speed drifts between minutes slows every model
// alike instead of whichever happened to run then. Each round gives a
// per-round speed-up (the teacher's mean time over the model's); the report
// carries their median with a 95 % bootstrap confidence interval.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/latency.hpp"

namespace bb {

struct RoundsOptions {
  int rounds = 5;            // interleaved rounds (at least 3)
  double min_seconds = 1.0;  // per model per point, summed over its rounds
  int warmup = 3;            // untimed calls per model before the first round
  uint64_t seed = 0;         // the bootstrap's resampling
};

// The median over rounds of a per-round ratio with its 95 % interval
// (percentile bootstrap of the median: 2 000 resamples of the rounds, seeded).
struct RatioInterval {
  double median = 0, lo = 0, hi = 0;
  bool significant() const { return lo > 1.0 || hi < 1.0; }  // the interval excludes 1.0
};
RatioInterval bootstrap_median(const std::vector<double>& per_round, uint64_t seed);

struct RoundsResult {
  // Per model (in the order given; model 0 is the reference, the teacher):
  std::vector<LatencyStats> stats;                // every timed call pooled: p50/p90/p99, images/s
  std::vector<std::vector<double>> round_mean_ms; // [model][round] mean ms per call in that round
  std::vector<RatioInterval> speedup;             // [model] reference time / model time, per round; [0] = 1
  double reference_spread = 0;  // the reference's (max - min) / median over rounds
  bool noisy() const { return reference_spread > 0.10; }
  double seconds = 0;           // wall time spent timing (warm-up included)
};

// Times runs[i]() (one batch each) in interleaved rounds; threads is recorded,
// not set. At least one call per model per round; each round gives a model
// min_seconds / rounds.
RoundsResult measure_rounds(const std::vector<std::function<void()>>& runs, int batch, int threads,
                            const RoundsOptions& o);

}  // namespace bb
