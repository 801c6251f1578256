#pragma once
// Latency under mpirun: every rank's figures kept apart, gathered on every
// rank, and merged where a sum means something.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "measure/statistics.hpp"

namespace bb {

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
