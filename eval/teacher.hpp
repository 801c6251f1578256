#pragma once
// Training the full-precision teacher from a config: data sets and loaders,
// the model, the trainer, and the per-epoch held-out evaluation.
#include <string>

#include "eval/run_config.hpp"
#include "train/trainer.hpp"

namespace bb {

TrainOutcome train_teacher(const RunConfig& cfg, const std::string& out_dir, bool resume, bool progress = true);

}  // namespace bb
