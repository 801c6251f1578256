#include "eval/report_assembly.hpp"

#include <cmath>

#include "eval/projection.hpp"
#include "eval/stage_cache.hpp"
#include "measure/environment.hpp"
#include "reports/report.hpp"
#include "reports/report_record.hpp"

namespace bb {

nlohmann::ordered_json assemble_report(const BenchConfig& cfg, const RunFacts& run, const Dataset& ds,
                                       const nlohmann::ordered_json& models, const nlohmann::ordered_json& stages) {
  ReportRecord rec;
  rec.schema_version = kReportSchemaVersion;
  rec.name = cfg.run.name;
  rec.created_utc = utc_now();
  const nlohmann::json cj = to_json(cfg);
  rec.config = cj;
  rec.config_hash = fnv1a_hex(cj.dump());
  rec.run = {run.out_dir, run.quick, run.from_scratch, std::round(run.seconds / 0.01) * 0.01};
  rec.environment = capture_environment(run.command_line);
  rec.environment["seed"] = cfg.run.seed;
  rec.models = models.get<std::vector<ModelEntry>>();
  rec.dataset.name = ds.name();
  rec.dataset.split = ds.split();
  rec.dataset.count = rec.models.empty() ? 0 : rec.models.front().accuracy.count;
  rec.dataset.size = static_cast<int64_t>(ds.size());
  rec.dataset.num_classes = ds.num_classes();
  rec.dataset.class_names = ds.class_names();
  rec.projection = weight_memory_projection();
  rec.stages = stages;
  const nlohmann::ordered_json j = rec;
  return j;
}

}  // namespace bb
