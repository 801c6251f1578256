#pragma once
// Training the full-precision teacher from a config: data sets and loaders,
// the model, the trainer, and the per-epoch held-out evaluation.
#include <memory>
#include <string>

#include "eval/run_config.hpp"
#include "train/trainer.hpp"

namespace bb {

// The data side of a training run: both splits and their loaders (training
// augmentation and shuffling on the first, plain eval transform on the second).
struct TrainData {
  std::unique_ptr<Dataset> train_set, eval_set;
  std::unique_ptr<Loader> train, eval;
};
TrainData open_train_data(const RunConfig& cfg);

TrainOutcome train_teacher(const RunConfig& cfg, const std::string& out_dir, bool resume, bool progress = true);

}  // namespace bb
