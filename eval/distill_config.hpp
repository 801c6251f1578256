#pragma once
// The distillation config (see eval/distill.hpp for its shape): read and
// checked in full before any training, every student's quant section parsed once.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/precision_search.hpp"
#include "eval/run_config.hpp"
#include "models/checkpoint.hpp"
#include "models/quant_plan_json.hpp"
#include "train/objective.hpp"
#include "train/train_config.hpp"

namespace bb {

// A student's "quant" section: a quant plan in the one schema files use too
// (models/quant_plan_json.hpp), read once; the plan needs the model's depth.
struct QuantSection : QuantPlanJson {
  nlohmann::json json = nlohmann::json::object();  // as written (the recipe and its hash keep it)
};

struct StudentConfig {
  std::string name;
  QuantSection quant;
  nlohmann::json model = nlohmann::json::object();  // overrides of the teacher's architecture
  std::string init = "teacher";
  std::string from = "teacher";
  TrainConfig train;
  DistillConfig distill;
  // A searched student (eval/precision_search.hpp): its block Linears' specs
  // come from a sensitivity search over quant.spec and this ladder.
  std::optional<SearchConfig> search;
};

struct DistillRunConfig {
  RunConfig run;  // name, seed, threads, data, loader; run.train = the students' default recipe
  std::string teacher;
  // The teacher's config when its file states none (a run's /teacher/model);
  // not a config key: `bitbench run` passes it.
  std::optional<GivenConfig> teacher_config;
  DistillConfig distill;
  std::vector<StudentConfig> students;
  // Not a config key: `bitbench search --plan-only` stops each searched
  // student after its search (search.json written, nothing trained).
  bool search_only = false;
};

// A distillation config is one with a "students" array.
bool is_distill_config(const nlohmann::json& j);
DistillRunConfig load_distill_config(const std::string& path);
DistillRunConfig parse_distill_config(const nlohmann::json& j, const std::string& file);
// Keeps the named students and the earlier stages they need ("from", "init"),
// in the config's order; Error(Usage) naming the config's students for an unknown name.
void select_students(DistillRunConfig& c, const std::vector<std::string>& names);
nlohmann::json to_json(const DistillRunConfig& c);

}  // namespace bb
