#pragma once
// The latency sweep of `bitbench run`: every model under test opened at once
// and, at each (batch, threads) point of the config's sweep, timed with the
// teacher by the meter (measure/meter.hpp) on real images of the eval split;
// the machine's load over the whole sweep recorded beside it.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataset.hpp"
#include "datasets/dataset_config.hpp"
#include "measure/machine_load.hpp"
#include "measure/meter.hpp"
#include "models/runnable_model.hpp"

namespace bb {

struct LatencyProtocol {
  std::vector<int> batches = {1, 64};
  std::vector<int> threads = {1, 0};  // 0 = the run's thread count (--threads, else the config's, else every core)
  RoundsOptions rounds;
  double budget_seconds = 0;          // the whole measurement's limit (0: none); rounds are shortened to fit
};

struct LatencyPoint {
  int batch = 0, threads = 0;
  RoundsResult result;  // per model, model 0 = the teacher
};

struct LatencyMeasurement {
  std::vector<LatencyPoint> points;
  MachineLoad load;
  double min_seconds = 0;  // per model per point, as used (after the budget)
  double seconds = 0;
};

// The sweep's thread counts as measured: 0 becomes the run's count now in
// force (num_threads()); repeats go. What the points record and the cache key holds.
std::vector<int> resolved_sweep_threads(const std::vector<int>& wanted);

// models[0] is the reference (the teacher). Thread counts are applied per point.
LatencyMeasurement measure_latency_sweep(const std::vector<RunnableModel*>& models, const Dataset& ds,
                                        const DataConfig& dc, const LatencyProtocol& p);

// Model m's points as report.json's "latency" array (each point: the meter's
// figures, its speed-up over the teacher with the 95 % interval, significant,
// and whether the teacher itself was noisy there).
nlohmann::ordered_json latency_json(const LatencyMeasurement& lm, size_t m);
// The measurement's protocol and machine state ("latency_protocol" in report.json).
nlohmann::ordered_json protocol_json(const LatencyMeasurement& lm, const LatencyProtocol& p);
// Model m's points as plain stats (the per-rank gather under mpirun).
std::vector<LatencyStats> latency_stats(const LatencyMeasurement& lm, size_t m);

}  // namespace bb
