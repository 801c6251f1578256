#pragma once
// One model × backend of `bitbench run` measured: accuracy and fidelity to the
// teacher on the eval split, memory as the backend holds it — the entry
// report.json keeps under "models" (its latency comes from
// eval/latency_sweep.hpp, every model timed together).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataset.hpp"
#include "eval/bench_config.hpp"
#include "eval/model_files.hpp"
#include "models/runnable_model.hpp"

namespace bb {

// A model × backend the run evaluates.
struct ModelUnderTest {
  std::string name, role;  // role: teacher, baseline, student
  ModelBackend backend;
  std::string path;
  bool ptq = false;                       // the teacher quantised W8A8 after training
  nlohmann::json history = nlohmann::json::array();
  std::optional<GivenConfig> given_config;  // the config's /teacher/model, for a teacher file that states no config
};

struct ModelEvalContext {
  const BenchConfig* cfg = nullptr;
  const Dataset* dataset = nullptr;
  int64_t limit = 0;                          // eval images (0 = all)
  const std::vector<float>* teacher_logits = nullptr;  // for fidelity; null or empty for the teacher itself
  ModelFiles* files = nullptr;                // the run's model files (null: read the file)
};

// The model as `bitbench run` runs it (PTQ plan applied), after checking it
// fits the data: one clear error naming the file otherwise.
// files: the run's model files, read once (null: the file is read here).
std::unique_ptr<RunnableModel> open_model_under_test(const ModelUnderTest& m, const DataConfig& data, const Dataset& ds,
                                                     ModelFiles* files = nullptr);

// The report entry of one model (rank 0's; the other ranks return their
// latency part only) and its logits [count, classes] (rank 0).
nlohmann::ordered_json evaluate_model(const ModelUnderTest& m, const ModelEvalContext& ctx, std::vector<float>& logits_out);

}  // namespace bb
