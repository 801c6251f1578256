#include "eval/latency_sweep.hpp"

#include <algorithm>
#include <cmath>

#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "datasets/loader.hpp"
#include "eval/environment.hpp"

namespace bb {
namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }

}  // namespace

Tensor latency_input(const Dataset& ds, const DataConfig& dc, int batch, int C, int S) {
  LoaderOptions lo;
  lo.batch_size = batch;
  lo.workers = 0;
  lo.limit = std::min<int64_t>(batch, static_cast<int64_t>(ds.size()));
  Loader loader(ds, dc.transform, dc.augment, lo);
  loader.start_epoch(0);
  const Batch* b = loader.next();
  Tensor x(Shape{batch, C, S, S});
  const int64_t per = static_cast<int64_t>(C) * S * S, have = b ? b->size() : 0;
  if (have == 0) throw Error::input(ds.source(), "no images to time");
  for (int64_t i = 0; i < batch; ++i)
    std::copy(b->images.data() + (i % have) * per, b->images.data() + (i % have + 1) * per, x.data() + i * per);
  return x;
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
