#pragma once
// The config of `bitbench run`: which data, which teacher and students, which
// backends and baselines, and how latency is measured.
//
//   {
//     "name": "fashion_mnist_default", "seed": 0, "threads": 0,
//     "dataset": {...}, "transform": {...}, "loader": {"eval_batch_size": 256, "workers": 1},
//     "teacher":  {"checkpoint": "../models/zoo/x.safetensors",    // shipped weights ("" = train)
//                  "model": "deit_tiny_patch16_224",                // optional: its preset (or ViT fields), when the file states no config
//                  "train": "fashion_mnist_teacher.json"},         // its recipe (--from-scratch, or no checkpoint)
//     "students": {"distill": "fashion_mnist_default_students.json",  // their recipe
//                  "checkpoints": {"student_w1.58a8": "../models/zoo/y.packed.safetensors"},
//                  "backends": ["bitkernels", "onednn-int8"],          // every student's
//                  "backends_of": {"student_w1a8": ["bitkernels"]}},  // a student's own, instead
//     "baselines": {"int8_ptq": true},                  // the teacher quantised W8A8 after training, on oneDNN int8
//     "eval":     {"limit": 0},                         // images of the eval split (0 = all)
//     "latency":  {"batch_sizes": [1, 64], "threads": [1, 0], "warmup": 3, "rounds": 5,
//                  "min_seconds": 1.0, "budget_seconds": 120},    // the meter's interleaved rounds (measure/meter.hpp)
//     "scale":    {"presets": ["deit_tiny_patch16_224"], "batch_sizes": [1, 64],   // the ladder's formats at ViT
//                  "rounds": 3, "min_seconds": 0.3, "warmup": 1}               // shapes, random weights (eval/vit_scale.hpp)
//   }
//
// Relative paths are relative to the config file's folder. The data, transform
// and loader sections are those of every other config (run_config.hpp).
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/run_config.hpp"
#include "kernels/model_backend.hpp"
#include "measure/meter.hpp"

namespace bb {

struct BenchConfig {
  RunConfig run;  // name, seed, threads, data, loader (its eval side)
  std::string teacher_checkpoint, teacher_train;
  // The shipped teacher's architecture, for a file that states no config: a
  // preset name or an object of ViT fields (/teacher/model); none when unset.
  std::optional<ViTConfig> teacher_model;
  nlohmann::json teacher_model_json;  // as written, for to_json and messages
  std::string students_distill;
  std::map<std::string, std::string> student_checkpoints;
  std::vector<ModelBackend> student_backends = {ModelBackend::kBitKernels};  // parsed from the table's names
  // Per student, backends instead of student_backends (e.g. the oneDNN int8 peer for some students only).
  std::map<std::string, std::vector<ModelBackend>> student_backends_of;
  const std::vector<ModelBackend>& backends_of(const std::string& student) const {
    auto it = student_backends_of.find(student);
    return it == student_backends_of.end() ? student_backends : it->second;
  }
  bool int8_ptq = true;
  int64_t eval_limit = 0;
  std::vector<int> latency_batches = {1, 64};
  std::vector<int> latency_threads = {1, 0};  // 0 = all cores
  RoundsOptions latency;              // rounds, min_seconds per model per point, warmup
  double latency_budget_seconds = 120;  // the whole latency measurement's limit (0: none)
  // The "at ViT scale" section (eval/vit_scale.hpp): none when no presets.
  std::vector<std::string> scale_presets;
  std::vector<int> scale_batches = {1, 64};
  RoundsOptions scale_rounds = {.rounds = 3, .min_seconds = 0.3, .warmup = 1, .seed = 0};
};

BenchConfig load_bench_config(const std::string& path);
BenchConfig parse_bench_config(const nlohmann::json& j, const std::string& file);
nlohmann::json to_json(const BenchConfig& c);
// A bench config is one with a "teacher" object (a distillation config names its teacher by a string).
bool is_bench_config(const nlohmann::json& j);

}  // namespace bb
