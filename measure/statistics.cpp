#include "measure/statistics.hpp"

#include <algorithm>
#include <cmath>

#include "core/rng.hpp"

namespace bb {
namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }

}  // namespace

double percentile(std::vector<double>& s, double q) {
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  const double rank = std::ceil(q / 100.0 * static_cast<double>(s.size()));
  const size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(s.size()))) - 1;
  return s[i];
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double spread_of(const std::vector<double>& v) {
  const double med = median_of(v);
  if (v.empty() || med <= 0) return 0;
  return (*std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end())) / med;
}

LatencyStats latency_stats_of(std::vector<double> ms, int batch, int threads) {
  LatencyStats s;
  s.batch = batch;
  s.threads = threads;
  s.runs = static_cast<int64_t>(ms.size());
  if (ms.empty()) return s;
  const double n = static_cast<double>(ms.size());
  double sum = 0;
  for (double v : ms) sum += v;
  s.mean_ms = sum / n;
  double var = 0;
  for (double v : ms) var += (v - s.mean_ms) * (v - s.mean_ms);
  s.std_ms = ms.size() > 1 ? std::sqrt(var / (n - 1)) : 0;
  s.p50_ms = percentile(ms, 50);
  s.p90_ms = percentile(ms, 90);
  s.p99_ms = percentile(ms, 99);
  s.min_ms = ms.front();  // sorted by percentile()
  s.images_per_s = s.mean_ms > 0 ? 1000.0 * batch / s.mean_ms : 0;
  return s;
}

RatioInterval bootstrap_median(const std::vector<double>& per_round, uint64_t seed) {
  RatioInterval r;
  if (per_round.empty()) return r;
  r.median = median_of(per_round);
  constexpr int kResamples = 2000;
  Rng rng(seed, Stream::kBootstrap, per_round.size());
  std::vector<double> medians(kResamples), pick(per_round.size());
  for (double& m : medians) {
    for (double& p : pick) p = per_round[rng.below(per_round.size())];
    m = median_of(pick);
  }
  std::sort(medians.begin(), medians.end());
  r.lo = medians[static_cast<size_t>(0.025 * kResamples)];
  r.hi = medians[static_cast<size_t>(0.975 * kResamples) - 1];
  return r;
}

nlohmann::ordered_json to_json(const LatencyStats& s) {
  return {{"batch", s.batch},
          {"threads", s.threads},
          {"runs", s.runs},
          {"p50_ms", round_to(s.p50_ms, 1e-4)},
          {"p90_ms", round_to(s.p90_ms, 1e-4)},
          {"p99_ms", round_to(s.p99_ms, 1e-4)},
          {"mean_ms", round_to(s.mean_ms, 1e-4)},
          {"std_ms", round_to(s.std_ms, 1e-4)},
          {"min_ms", round_to(s.min_ms, 1e-4)},
          {"images_per_s", round_to(s.images_per_s, 0.01)},
          {"settled", s.settled}};
}

LatencyStats latency_stats_from_json(const nlohmann::ordered_json& j) {
  LatencyStats s;
  s.batch = j.at("batch").get<int>();
  s.threads = j.at("threads").get<int>();
  s.runs = j.at("runs").get<int64_t>();
  s.p50_ms = j.at("p50_ms").get<double>();
  s.p90_ms = j.at("p90_ms").get<double>();
  s.p99_ms = j.at("p99_ms").get<double>();
  s.mean_ms = j.at("mean_ms").get<double>();
  s.std_ms = j.at("std_ms").get<double>();
  s.min_ms = j.at("min_ms").get<double>();
  s.images_per_s = j.at("images_per_s").get<double>();
  s.settled = j.at("settled").get<bool>();
  return s;
}

}  // namespace bb
