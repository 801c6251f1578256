#include "eval/latency_rounds.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace bb {
namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

LatencyStats stats_of(std::vector<double> ms, int batch, int threads) {
  LatencyStats s;
  s.batch = batch;
  s.threads = threads;
  s.runs = static_cast<int64_t>(ms.size());
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
  s.settled = true;  // rounds end on time, not on a settling rule
  return s;
}

}  // namespace

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

RoundsResult measure_rounds(const std::vector<std::function<void()>>& runs, int batch, int threads,
                            const RoundsOptions& o) {
  using clock = std::chrono::steady_clock;
  if (runs.empty()) throw Error::usage("measure_rounds: no models to time");
  if (o.rounds < 3) throw Error::usage("latency rounds must be at least 3, not " + std::to_string(o.rounds));
  const size_t models = runs.size();
  const auto start = clock::now();
  for (const auto& run : runs)
    for (int i = 0; i < o.warmup; ++i) run();
  std::vector<std::vector<double>> calls(models);  // [model] every timed call, ms
  RoundsResult res;
  res.round_mean_ms.assign(models, {});
  const double per_round = o.min_seconds / o.rounds;
  for (int round = 0; round < o.rounds; ++round)
    for (size_t k = 0; k < models; ++k) {
      const size_t m = (k + static_cast<size_t>(round)) % models;  // round r starts at model r
      const auto t_round = clock::now();
      double sum = 0;
      int n = 0;
      do {
        const auto t0 = clock::now();
        runs[m]();
        const double v = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
        calls[m].push_back(v);
        sum += v;
        ++n;
      } while (std::chrono::duration<double>(clock::now() - t_round).count() < per_round);
      res.round_mean_ms[m].push_back(sum / n);
    }
  for (size_t m = 0; m < models; ++m) {
    res.stats.push_back(stats_of(calls[m], batch, threads));
    std::vector<double> ratio;
    for (int r = 0; r < o.rounds; ++r) ratio.push_back(res.round_mean_ms[0][static_cast<size_t>(r)] / res.round_mean_ms[m][static_cast<size_t>(r)]);
    res.speedup.push_back(bootstrap_median(ratio, o.seed + m));
  }
  const auto& ref = res.round_mean_ms[0];
  const double med = median_of(ref);
  res.reference_spread = med > 0 ? (*std::max_element(ref.begin(), ref.end()) - *std::min_element(ref.begin(), ref.end())) / med : 0;
  res.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return res;
}

}  // namespace bb
