#include "eval/rank_latency.hpp"

#include <algorithm>
#include <cmath>

#include "core/comm.hpp"
#include "measure/environment.hpp"

namespace bb {
namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }

}  // namespace

std::vector<RankLatency> gather_rank_latency(const std::vector<LatencyStats>& mine) {
  nlohmann::ordered_json points = nlohmann::ordered_json::array();
  for (const auto& s : mine) points.push_back(to_json(s));
  const nlohmann::ordered_json me = {{"rank", comm::rank()}, {"host", host_name()}, {"cpus", affinity_list()}, {"latency", points}};
  std::vector<RankLatency> out;
  for (const std::string& text : comm::allgather(me.dump())) {  // the transport; merging is on the structs
    const auto j = nlohmann::ordered_json::parse(text);
    RankLatency r{j.at("rank").get<int>(), j.at("host").get<std::string>(), j.at("cpus").get<std::string>(), {}};
    for (const auto& p : j.at("latency")) r.points.push_back(latency_stats_from_json(p));
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::ordered_json per_rank_json(const std::vector<RankLatency>& ranks) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const RankLatency& r : ranks) {
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (const auto& s : r.points) points.push_back(to_json(s));
    out.push_back({{"rank", r.rank}, {"host", r.host}, {"cpus", r.cpus}, {"latency", points}});
  }
  return out;
}

nlohmann::ordered_json merged_json(const std::vector<RankLatency>& ranks) {
  nlohmann::ordered_json merged = nlohmann::ordered_json::array();
  if (ranks.empty()) return merged;
  for (size_t i = 0; i < ranks.front().points.size(); ++i) {
    double ips = 0, lo = 1e300, hi = 0;
    for (const RankLatency& r : ranks) {
      const LatencyStats& s = r.points.at(i);
      ips += round_to(s.images_per_s, 0.01);  // as each rank reports it
      lo = std::min(lo, round_to(s.p50_ms, 1e-4));
      hi = std::max(hi, round_to(s.p50_ms, 1e-4));
    }
    const LatencyStats& first = ranks.front().points[i];
    merged.push_back({{"batch", first.batch}, {"threads_per_rank", first.threads}, {"ranks", static_cast<int>(ranks.size())},
                      {"images_per_s_all_ranks", round_to(ips, 0.01)}, {"p50_ms_range", {lo, hi}}});
  }
  return merged;
}

}  // namespace bb
