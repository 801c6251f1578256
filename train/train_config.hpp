#pragma once
// The `train` section of a config: the optimisation recipe.
#include <nlohmann/json.hpp>

#include "core/json_reader.hpp"
#include "kernels/model_backend.hpp"

namespace bb {

struct TrainConfig {
  int epochs = 10;
  double lr = 1e-3;             // peak learning rate (after warm-up)
  double min_lr = 1e-5;         // end of the cosine
  double warmup_epochs = 1;     // linear warm-up from 0
  double weight_decay = 0.05;   // decoupled (AdamW); none on norms, biases, tokens, pos_embed
  double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;
  double label_smoothing = 0.1;
  double clip_grad = 1.0;       // global gradient-norm clip; 0 = off
  int64_t checkpoint_every = 0;  // also save the resume checkpoint every N steps (0 = at epoch ends only)
  ModelBackend backend = ModelBackend::kOnednn;  // reference | onednn (fp32 training)
  // Adaptive schedule (0 = off): after plateau_patience epochs without a new
  // best held-out top-1 the learning rate is multiplied by plateau_factor (on
  // top of the cosine); after early_stop_patience such epochs training stops.
  int plateau_patience = 0;
  double plateau_factor = 0.5;
  int early_stop_patience = 0;
};

TrainConfig read_train_config(JsonReader& r);
nlohmann::json to_json(const TrainConfig& c);

}  // namespace bb
