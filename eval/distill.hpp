#pragma once
// Distilling BitNet students from a teacher, from a config:
//
//   {
//     "name": "...", "seed": 0, "threads": 0, "dataset": {...}, "augment": {...}, "loader": {...},
//     "teacher": "runs/fashion_mnist_teacher/teacher/fashion_mnist_teacher.safetensors",
//     "train":   {...},                          // the students' default recipe (train section keys)
//     "distill": {"kind": "soft", "alpha": 0.7, "temperature": 4, "hidden_mse": 0},
//     "students": [
//       {"quant": {"spec": "W1.58A8"}},          // name defaults to student_w1.58a8
//       {"name": "half", "quant": {"spec": "W1.58A8", "blocks": {"0": "W8A8"}, "subln": true},
//        "model": {"depth": 2}, "init": "teacher", "train": {...}, "distill": {...}},
//       {"quant": {"spec": "W1A8"}, "from": "student_w1.58a8"}   // a chain stage
//     ]
//   }
//
// Each student is distilled from the teacher, or with "from" from an earlier
// student of the same file (which then also initialises it: a multi-stage
// chain). "init": "teacher" (default; the teacher of this stage), "scratch",
// or an earlier student's name. Initialisation copies every tensor whose shape
// matches, mapping student block i to teacher block (i + 1)·Lt/Ls - 1 when the
// student is shallower. Output: <out>/<student>/ with the trainer's files,
// <student>.safetensors (latent weights + quant plan) and
// <student>.packed.safetensors; <out>/students.json summarises them all.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/distill_config.hpp"

namespace bb {

struct StudentResult {
  std::string name, spec, from, path, packed_path;
  int64_t params = 0, quantized_weights = 0, packed_bytes = 0, fp32_bytes = 0;
  double top1 = 0, top5 = 0, best_top1 = 0, ternary_zeros = 0, minutes = 0;
  int epochs_run = 0;
  bool stopped_early = false;
  nlohmann::json history;
};

struct DistillOutcome {
  double teacher_top1 = 0, teacher_top5 = 0;
  int64_t teacher_params = 0;
  std::vector<StudentResult> students;
  bool interrupted = false;
  std::string summary_path;
  // Training steps of students distilled from the teacher, and how many of them
  // took the teacher's logits from an earlier student's identical batch.
  int64_t teacher_batches = 0, teacher_batches_reused = 0;
};

DistillOutcome run_distillation(const DistillRunConfig& cfg, const std::string& out_dir, bool resume,
                                bool progress = true);

}  // namespace bb
