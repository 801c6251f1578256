#include "measure/meter.hpp"

#include <chrono>
#include <string>

#include "core/error.hpp"
#include "core/threads.hpp"

namespace bb {

RatioInterval RoundsResult::ratio(size_t a, size_t b, uint64_t seed) const {
  std::vector<double> per_round;
  for (size_t r = 0; r < round_mean_ms.at(a).size(); ++r) per_round.push_back(round_mean_ms[a][r] / round_mean_ms.at(b).at(r));
  return bootstrap_median(per_round, seed);
}

RoundsResult measure_rounds(const std::vector<std::function<void()>>& runs, int batch, int threads,
                            const RoundsOptions& o) {
  using clock = std::chrono::steady_clock;
  if (runs.empty()) throw Error::usage("measure_rounds: no models to time");
  if (o.rounds < 3) throw Error::usage("latency rounds must be at least 3, not " + std::to_string(o.rounds));
  ThreadCountGuard guard(threads > 0 ? threads : num_threads());
  const int timed_threads = num_threads();
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
      const size_t m = round_order(k, round, models);
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
    LatencyStats s = latency_stats_of(std::move(calls[m]), batch, timed_threads);
    s.settled = spread_of(res.round_mean_ms[m]) <= kSettledSpread;
    res.stats.push_back(s);
    res.speedup.push_back(res.ratio(0, m, o.seed + m));
  }
  res.reference_spread = spread_of(res.round_mean_ms[0]);
  res.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return res;
}

RatioInterval time_ratio(const std::function<void()>& a, const std::function<void()>& b, int threads,
                         const RoundsOptions& o) {
  return measure_rounds({a, b}, 1, threads, o).ratio(0, 1, o.seed);
}

}  // namespace bb
