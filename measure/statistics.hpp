#pragma once
// The statistics of timed calls: a latency point's figures, the nearest-rank
// percentile and the median they use, the spread of round times, the
// bootstrap interval of a median over rounds, and the figures' JSON form as
// report.json carries them. The meter that produces them is measure/meter.hpp.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace bb {

struct LatencyStats {
  int batch = 0, threads = 0;  // threads: the count the calls ran with
  int64_t runs = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, mean_ms = 0, std_ms = 0, min_ms = 0;
  double images_per_s = 0;  // batch / mean
  // The model's round times agreed: their spread (spread_of) was at most
  // kSettledSpread. A point that did not settle was timed while the machine's
  // speed moved; its figures are less trustworthy.
  bool settled = false;
};

// Round times whose (max − min) / median is above this did not settle (10 %).
inline constexpr double kSettledSpread = 0.10;

// Nearest-rank percentile (q in [0, 100]) of samples (sorted in place).
double percentile(std::vector<double>& samples, double q);
// The median (the mean of the middle two for an even count); 0 when empty.
double median_of(std::vector<double> v);
// (max − min) / median of v; 0 when empty or the median is 0.
double spread_of(const std::vector<double>& v);

// The figures of a point's timed calls (ms each); settled is left false (the
// meter decides it from the rounds).
LatencyStats latency_stats_of(std::vector<double> call_ms, int batch, int threads);

// The median over rounds of a per-round ratio with its 95 % interval
// (percentile bootstrap of the median: 2 000 resamples of the rounds, seeded).
struct RatioInterval {
  double median = 0, lo = 0, hi = 0;
  bool significant() const { return lo > 1.0 || hi < 1.0; }  // the interval excludes 1.0
};
RatioInterval bootstrap_median(const std::vector<double>& per_round, uint64_t seed);

nlohmann::ordered_json to_json(const LatencyStats& s);  // rounded as the report shows it
LatencyStats latency_stats_from_json(const nlohmann::ordered_json& j);

}  // namespace bb
