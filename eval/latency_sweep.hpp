#pragma once
// The latency part of a model's evaluation in `bitbench run`: every batch size
// × thread count of the config timed on real images from the eval split, and,
// under mpirun, every rank's figures kept apart and merged where a sum means
// something.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataset.hpp"
#include "datasets/dataset_config.hpp"
#include "eval/latency.hpp"
#include "models/runnable_model.hpp"

namespace bb {

struct LatencySweep {
  std::vector<int> batches;
  std::vector<int> threads;  // 0 = every core this process may use
  LatencyOptions options;
};

// Times model.forward at each (batch, threads) point, in config order; each
// point's thread count holds for its measurement only.
std::vector<LatencyStats> measure_sweep(RunnableModel& model, const Dataset& ds, const DataConfig& dc,
                                        const LatencySweep& sweep);

nlohmann::ordered_json to_json(const LatencyStats& s);  // rounded as the report shows it
LatencyStats latency_stats_from_json(const nlohmann::ordered_json& j);

// One rank's measurement: where it ran and what it measured.
struct RankLatency {
  int rank = 0;
  std::string host, cpus;
  std::vector<LatencyStats> points;
};
// Every rank's measurement, in rank order (a collective: every rank calls it).
std::vector<RankLatency> gather_rank_latency(const std::vector<LatencyStats>& mine);
// report.json's latency_per_rank and latency_merged (images/s summed over
// ranks, p50 as a min–max range, never averaged).
nlohmann::ordered_json per_rank_json(const std::vector<RankLatency>& ranks);
nlohmann::ordered_json merged_json(const std::vector<RankLatency>& ranks);

}  // namespace bb
