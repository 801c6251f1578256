#include "eval/report_assembly.hpp"

#include <cmath>

#include "eval/projection.hpp"
#include "eval/stage_cache.hpp"
#include "measure/environment.hpp"
#include "reports/report.hpp"

namespace bb {

nlohmann::ordered_json assemble_report(const BenchConfig& cfg, const RunFacts& run, const Dataset& ds,
                                       const nlohmann::ordered_json& models, const nlohmann::ordered_json& stages) {
  nlohmann::ordered_json j;
  j["schema_version"] = kReportSchemaVersion;
  j["name"] = cfg.run.name;
  j["created_utc"] = utc_now();
  const nlohmann::json cj = to_json(cfg);
  j["config"] = cj;
  j["config_hash"] = fnv1a_hex(cj.dump());
  j["run"] = {{"out_dir", run.out_dir},
              {"quick", run.quick},
              {"from_scratch", run.from_scratch},
              {"seconds", std::round(run.seconds / 0.01) * 0.01}};
  nlohmann::ordered_json env = capture_environment(run.command_line);
  env["seed"] = cfg.run.seed;
  j["environment"] = env;
  j["dataset"] = {{"name", ds.name()},
                  {"split", ds.split()},
                  {"count", models.empty() ? 0 : models.front()["accuracy"]["count"].get<int64_t>()},
                  {"size", ds.size()},
                  {"num_classes", ds.num_classes()},
                  {"class_names", ds.class_names()}};
  j["models"] = models;
  j["projection"] = weight_memory_projection();
  j["stages"] = stages;
  return j;
}

}  // namespace bb
