#pragma once
// models/zoo: the checkpoints a `--from-scratch --export-zoo` run trained,
// copied with their provenance (recipe hash, git revision, history) and the
// top-1 they reach on a fixed subset, which the zoo test measures again.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataset_config.hpp"
#include "eval/distill_config.hpp"
#include "eval/run_config.hpp"

namespace bb {

// Shipped checkpoints record the top-1 they reach on this fixed subset of the
// eval split (seeded, seed 0) with `backend`; the zoo test measures it again.
inline constexpr int64_t kZooSubset = 1000;
double zoo_subset_top1(const std::string& path, ModelBackend backend, const DataConfig& data, int64_t limit);

// The recipe hashes a zoo file records (zoo_recipe_hash), as `bitbench run
// --from-scratch` computes them: the teacher's training config; the students'
// distillation config without its teacher path (the teacher is named by its
// bytes elsewhere). The zoo test recomputes them from configs/: drift fails.
std::string teacher_recipe_hash(const RunConfig& teacher);
std::string students_recipe_hash(DistillRunConfig students);

struct ZooEntry {
  std::string src, dst;          // the run's checkpoint, its zoo file
  std::string name;             // as report.json names the model
  ModelBackend backend;         // the backend its subset top-1 uses
  std::string recipe_hash;
  nlohmann::json history;
};

// Writes each entry's zoo file; the report gives the full-split top-1 and count.
void export_zoo(const std::vector<ZooEntry>& entries, const std::string& config_name, const DataConfig& data,
                const nlohmann::ordered_json& report);

}  // namespace bb
