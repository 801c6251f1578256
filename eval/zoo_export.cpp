#include "eval/zoo_export.hpp"

#include <cstdio>

#include "core/version.hpp"
#include "datasets/loader.hpp"
#include "eval/evaluator.hpp"
#include "eval/stage_cache.hpp"
#include "models/runnable_model.hpp"
#include "models/safetensors.hpp"
#include "reports/report.hpp"

namespace bb {

double zoo_subset_top1(const std::string& path, ModelBackend backend, const DataConfig& data, int64_t limit) {
  std::unique_ptr<RunnableModel> model = open_model(path, backend);
  auto ds = open_dataset(data.dataset, data.dataset.eval_split);
  LoaderOptions lo;
  lo.batch_size = 250;
  lo.workers = 0;
  lo.limit = limit;
  lo.seed = 0;
  Loader loader(*ds, data.transform, data.augment, lo);
  return evaluate([&](const TensorView& x) { return model->forward(x); }, loader, false, "zoo subset").top1();
}

std::string teacher_recipe_hash(const RunConfig& teacher) { return fnv1a_hex(to_json(teacher).dump()); }

std::string students_recipe_hash(DistillRunConfig students) {
  nlohmann::json j = to_json(students);
  j.erase("teacher");
  return fnv1a_hex(j.dump());
}

void export_zoo(const std::vector<ZooEntry>& entries, const std::string& config_name, const DataConfig& data,
                const nlohmann::ordered_json& report) {
  const std::vector<ModelEntry> models = report_record(report).models;
  auto top1_of = [&](const std::string& name, ModelBackend backend) {
    for (const ModelEntry& e : models)
      if (e.name == name && e.backend == model_backend_name(backend)) return e.accuracy.top1;
    return -1.0;
  };
  for (const ZooEntry& z : entries) {
    const SafetensorsFile f = SafetensorsFile::read(z.src);
    std::vector<TensorToWrite> ts;
    for (const auto& t : f.tensors()) ts.push_back({t.name, t.shape, t.dtype, f.raw(t)});
    std::map<std::string, std::string> meta = f.own_metadata();
    meta["zoo_recipe_hash"] = z.recipe_hash;
    meta["zoo_git_revision"] = kGitRevision;
    meta["zoo_config"] = config_name;
    meta["history"] = z.history.dump();
    const double subset_top1 = zoo_subset_top1(z.src, z.backend, data, kZooSubset);
    meta["zoo_eval"] = nlohmann::json{{"dataset", report["dataset"]["name"].get<std::string>()},
                                      {"split", report["dataset"]["split"].get<std::string>()},
                                      {"backend", model_backend_name(z.backend)}, {"top1", top1_of(z.name, z.backend)},
                                      {"count", report["dataset"]["count"].get<int64_t>()}, {"subset_limit", kZooSubset},
                                      {"subset_seed", 0}, {"subset_top1", subset_top1}}
                           .dump();
    write_safetensors(z.dst, ts, namespaced_metadata(meta));
    std::fprintf(stderr, "zoo: %s (subset top-1 %.2f%%)\n", z.dst.c_str(), subset_top1);
  }
}

}  // namespace bb
