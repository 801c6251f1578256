#pragma once
// The latency meter, the one every timing of bitbench goes through (`run`'s
// latency sweep, `validate`, bench_vit and bench_kernels): the models under
// test timed turn by turn in interleaved rounds at one (batch, threads) point
// — round r visits them in an order rotated by r (round_order) — so a VM
// whose speed drifts between minutes slows every model alike instead of
// whichever happened to run then. Each round gives a per-round ratio (the
// reference's mean time over the model's); the report carries their median
// with a 95 % bootstrap confidence interval.
#include <cstdint>
#include <functional>
#include <vector>

#include "measure/statistics.hpp"

namespace bb {

struct RoundsOptions {
  int rounds = 5;            // interleaved rounds (at least 3)
  double min_seconds = 1.0;  // per model per point, summed over its rounds
  int warmup = 3;            // untimed calls per model before the first round
  uint64_t seed = 0;         // the bootstrap's resampling
};

struct RoundsResult {
  // Per model (in the order given; model 0 is the reference, e.g. the teacher):
  std::vector<LatencyStats> stats;                // every timed call pooled: p50/p90/p99, images/s, settled
  std::vector<std::vector<double>> round_mean_ms; // [model][round] mean ms per call in that round
  std::vector<RatioInterval> speedup;             // [model] reference time / model time, per round; [0] = 1
  double reference_spread = 0;  // spread_of the reference's round times
  bool noisy() const { return reference_spread > kSettledSpread; }
  double seconds = 0;           // wall time spent timing (warm-up included)
  // Median over rounds of model a's round time over model b's, with its interval.
  RatioInterval ratio(size_t a, size_t b, uint64_t seed) const;
};

// The model the meter times k-th in round `round` of `models`.
inline size_t round_order(size_t k, int round, size_t models) { return (k + static_cast<size_t>(round)) % models; }

// Times runs[i]() (one batch each) in interleaved rounds at `threads` threads
// (set for the measurement and restored after; <= 0: the count in force),
// recorded in every LatencyStats. At least one call per model per round; each
// round gives a model min_seconds / rounds.
RoundsResult measure_rounds(const std::vector<std::function<void()>>& runs, int batch, int threads,
                            const RoundsOptions& o);

// time(a) / time(b) timed by measure_rounds: the median over rounds with its
// 95 % interval (above 1: b is faster). For benchmarks comparing two calls.
RatioInterval time_ratio(const std::function<void()>& a, const std::function<void()>& b, int threads,
                         const RoundsOptions& o);

}  // namespace bb
