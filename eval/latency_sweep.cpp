#include "eval/latency_sweep.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/threads.hpp"
#include "eval/latency_input.hpp"

namespace bb {
namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }

}  // namespace

std::vector<int> resolved_sweep_threads(const std::vector<int>& wanted) {
  const int run_threads = num_threads();
  std::vector<int> out;
  for (int t : wanted) {
    const int n = t == 0 ? run_threads : t;
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

LatencyMeasurement measure_latency_sweep(const std::vector<RunnableModel*>& models, const Dataset& ds,
                                        const DataConfig& dc, const LatencyProtocol& p) {
  if (models.empty()) throw Error::usage("measure_latency_sweep: no models");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int> threads = resolved_sweep_threads(p.threads);
  const size_t points = p.batches.size() * threads.size();
  RoundsOptions ro = p.rounds;
  // A budget shortens every model's time per point alike (each round still
  // makes at least one call per model).
  if (p.budget_seconds > 0) {
    const double wanted = ro.min_seconds * static_cast<double>(models.size() * points);
    if (wanted > p.budget_seconds) {
      ro.min_seconds *= p.budget_seconds / wanted;
      std::fprintf(stderr, "bitbench: latency budget %.0f s: %.2f s per model per point instead of %.2f s\n",
                   p.budget_seconds, ro.min_seconds, p.rounds.min_seconds);
    }
  }
  const ViTConfig& c = models.front()->config();
  MachineLoadMeter load;
  LatencyMeasurement lm;
  lm.min_seconds = ro.min_seconds;
  for (int B : p.batches) {
    Tensor x = latency_input(ds, dc, B, c.in_chans, c.img_size);
    for (int n : threads) {
      std::vector<std::function<void()>> runs;
      for (RunnableModel* m : models) runs.push_back([m, &x] { m->forward(x.view()); });
      RoundsOptions point = ro;
      point.seed = ro.seed + static_cast<uint64_t>(lm.points.size());
      lm.points.push_back({B, n, measure_rounds(runs, B, n, point)});
    }
  }
  lm.load = load.stop();
  lm.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return lm;
}

nlohmann::ordered_json latency_json(const LatencyMeasurement& lm, size_t m) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const LatencyPoint& pt : lm.points) {
    nlohmann::ordered_json j = to_json(pt.result.stats.at(m));
    const RatioInterval& s = pt.result.speedup.at(m);
    j["rounds"] = static_cast<int>(pt.result.round_mean_ms.at(m).size());
    j["speedup_vs_teacher"] = {{"median", round_to(s.median, 1e-4)},
                               {"ci95", {round_to(s.lo, 1e-4), round_to(s.hi, 1e-4)}},
                               {"significant", s.significant()}};
    j["teacher_spread"] = round_to(pt.result.reference_spread, 1e-4);
    j["noisy"] = pt.result.noisy();
    out.push_back(j);
  }
  return out;
}

nlohmann::ordered_json protocol_json(const LatencyMeasurement& lm, const LatencyProtocol& p) {
  const MachineLoad& l = lm.load;
  return {{"method", "interleaved rounds: every model timed turn by turn at each point, the order rotated per round; "
                     "speed-up = median over rounds of the teacher's round time over the model's, 95 % bootstrap interval"},
          {"rounds", p.rounds.rounds},
          {"warmup", p.rounds.warmup},
          {"min_seconds_per_model", round_to(lm.min_seconds, 1e-4)},
          {"budget_seconds", p.budget_seconds},
          {"seconds", round_to(lm.seconds, 1e-3)},
          {"machine", {{"readable", l.readable},
                       {"other_cpu_cores", round_to(l.other_cores(), 1e-3)},
                       {"load_before", round_to(l.load_before, 1e-2)},
                       {"load_after", round_to(l.load_after, 1e-2)},
                       {"cpu_mhz", round_to(l.cpu_mhz, 1.0)},
                       {"busy", l.busy()}}}};
}

std::vector<LatencyStats> latency_stats(const LatencyMeasurement& lm, size_t m) {
  std::vector<LatencyStats> out;
  for (const LatencyPoint& pt : lm.points) out.push_back(pt.result.stats.at(m));
  return out;
}

}  // namespace bb
