#pragma once
// Where a training stands, as the resume checkpoint (checkpoint.safetensors)
// keeps it: the weights, the AdamW moments and step, the position in the
// schedule, the sums of the epoch in progress and the history so far. A
// resumed run loads it and goes on as if it had never stopped.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/vit_params.hpp"
#include "train/adamw.hpp"

namespace bb {

struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, train_top1 = 0, lr = 0, images_per_sec = 0, seconds = 0;
  double eval_top1 = 0, eval_top5 = 0;
  double lr_scale = 1;  // product of plateau reductions so far (adaptive schedule)
  // Seconds spent in forward, backward and optimizer this epoch.
  double forward_s = 0, backward_s = 0, optimizer_s = 0;
  // Data parallel (under mpirun): ranks, and seconds spent in the gradient
  // MPI_Allreduce this epoch (both left out of the JSON on one process).
  int ranks = 1;
  double allreduce_s = 0;
};
nlohmann::json to_json(const EpochRecord& r);
EpochRecord epoch_record_from_json(const nlohmann::json& j);
nlohmann::json to_json(const std::vector<EpochRecord>& history);

// Sums of the epoch in progress, saved with the state so a resumed epoch reports
// the same figures as an uninterrupted one.
struct EpochSums {
  double loss_sum = 0, seconds = 0, fwd = 0, bwd = 0, opt = 0, comm = 0;
  int64_t correct = 0, count = 0;
};

struct TrainingState {
  int epoch = 0;               // the epoch in progress (or next to start)
  int64_t batch_in_epoch = 0;  // batches of it already taken
  int64_t step = 0;            // optimizer steps so far
  double best_top1 = 0;
  double lr_scale = 1;         // adaptive schedule: plateau reductions so far
  int since_best = 0;          // epochs since the best held-out top-1
  EpochSums sums;
  std::vector<EpochRecord> history;

  // Writes checkpoint.safetensors at `path`: weights, optimizer, this state
  // (metadata bitbench.state and bitbench.history) and `metadata`.
  void save(const std::string& path, const ViTParams& p, const AdamW& opt, int64_t steps_per_epoch,
            std::map<std::string, std::string> metadata) const;
  // Reads it back into p and opt; Error(Input) naming the file when it is no
  // training checkpoint, or was written for another model or steps per epoch.
  static TrainingState load(const std::string& path, ViTParams& p, AdamW& opt, int64_t steps_per_epoch);
};

}  // namespace bb
