#pragma once
// report.json assembled from a finished run (reports/ renders it; its schema is
// reports/report.schema.json).
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/dataset.hpp"
#include "eval/bench_config.hpp"

namespace bb {

struct RunFacts {
  std::string out_dir, command_line;
  bool quick = false, from_scratch = false;
  double seconds = 0;
};

nlohmann::ordered_json assemble_report(const BenchConfig& cfg, const RunFacts& run, const Dataset& ds,
                                       const nlohmann::ordered_json& models, const nlohmann::ordered_json& stages);

}  // namespace bb
