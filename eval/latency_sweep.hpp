#pragma once
// Latency figures of `bitbench run` as data: the input images they are timed
// on, their JSON form, and, under mpirun, every rank's figures kept apart and
// merged where a sum means something (eval/latency_stage.hpp measures them).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataset.hpp"
#include "datasets/dataset_config.hpp"
#include "eval/latency.hpp"
#include "core/tensor.hpp"

namespace bb {

// Images for the latency runs: the first `batch` of the eval split (cycled
// when it is shorter), preprocessed, [batch, C, S, S].
Tensor latency_input(const Dataset& ds, const DataConfig& dc, int batch, int C, int S);

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
