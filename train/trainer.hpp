#pragma once
// The training loop: epochs over the loader, one AdamW step per batch,
// evaluation on the held-out split after every epoch, history, best-checkpoint
// keeping, crash-safe resume checkpoints, Ctrl-C handling.
//
// Output folder:
//   checkpoint.safetensors  resume state: weights, AdamW moments, step, epoch, history
//   best.safetensors        weights with the best held-out top-1 so far
//   <name>.safetensors      final weights with config, recipe and final metrics in metadata
//   history.json            one record per epoch
// Every file is written to a temporary name and renamed.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "datasets/loader.hpp"
#include "models/quant.hpp"
#include "models/vit_params.hpp"
#include "train/objective.hpp"
#include "train/train_config.hpp"
#include "train/training_state.hpp"

namespace bb {

struct EvalScores {
  double top1 = 0, top5 = 0;
};
// Held-out evaluation of the current weights.
using EvalFn = std::function<EvalScores(const ViTParams&)>;

struct TrainerOptions {
  TrainConfig train;
  std::string out_dir;
  std::string final_name = "teacher";
  bool resume = false;
  // Written into every checkpoint's __metadata__ (recipe, data set, class names, ...).
  std::map<std::string, std::string> metadata;
  bool progress = true;
  // A student: the quant plan its BitLinears run (null: fp32) and what it
  // minimises (null: cross-entropy with the recipe's label smoothing).
  const QuantPlan* plan = nullptr;
  Objective* objective = nullptr;
};

struct TrainOutcome {
  std::vector<EpochRecord> history;
  bool interrupted = false;
  int64_t steps = 0;
  double best_top1 = 0;
  bool stopped_early = false;  // the adaptive schedule's early stop ended training
  std::string final_path;
};

class Trainer {
 public:
  Trainer(ViTParams& params, Loader& train_loader, EvalFn eval, TrainerOptions opt);
  // Trains until the configured epochs are done or an interrupt is requested
  // (then the resume checkpoint is saved and outcome.interrupted is set).
  // Steps: open the folder, start or resume the TrainingState, train each
  // epoch, close it (evaluate, keep the best, adapt the schedule), save the final weights.
  TrainOutcome run();

 private:
  ViTParams& p_;
  Loader& loader_;
  EvalFn eval_;
  TrainerOptions o_;
};

}  // namespace bb
