#include "eval/latency.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace bb {

double percentile(std::vector<double>& s, double q) {
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  const double rank = std::ceil(q / 100.0 * static_cast<double>(s.size()));
  const size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(s.size()))) - 1;
  return s[i];
}

LatencyStats measure_latency(const std::function<void()>& run, int batch, int threads, const LatencyOptions& o) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < o.warmup; ++i) run();
  std::vector<double> ms;
  double sum = 0, sum2 = 0;
  bool settled = false;
  const auto start = clock::now();
  for (;;) {
    const auto t0 = clock::now();
    run();
    const auto t1 = clock::now();
    const double v = std::chrono::duration<double, std::milli>(t1 - t0).count();
    ms.push_back(v);
    sum += v;
    sum2 += v * v;
    const double n = static_cast<double>(ms.size());
    if (ms.size() < static_cast<size_t>(std::max(o.min_runs, 2))) continue;
    const double mean = sum / n, var = std::max(0.0, sum2 / n - mean * mean);
    if (std::sqrt(var / n) <= o.settle * mean) {
      settled = true;
      break;
    }
    if (std::chrono::duration<double>(t1 - start).count() >= o.max_seconds) break;
  }
  LatencyStats s;
  s.batch = batch;
  s.threads = threads;
  s.runs = static_cast<int64_t>(ms.size());
  const double n = static_cast<double>(ms.size());
  s.mean_ms = sum / n;
  double var = 0;
  for (double v : ms) var += (v - s.mean_ms) * (v - s.mean_ms);
  s.std_ms = ms.size() > 1 ? std::sqrt(var / (n - 1)) : 0;
  s.p50_ms = percentile(ms, 50);
  s.p90_ms = percentile(ms, 90);
  s.p99_ms = percentile(ms, 99);
  s.min_ms = ms.front();  // sorted by percentile()
  s.images_per_s = s.mean_ms > 0 ? 1000.0 * batch / s.mean_ms : 0;
  s.settled = settled;
  return s;
}

}  // namespace bb
