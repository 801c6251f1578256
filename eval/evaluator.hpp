#pragma once
// One evaluator for every model and backend: runs batches from a loader
// through a model and counts top-1/top-5, optionally keeping the logits.
#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.hpp"
#include "datasets/loader.hpp"

namespace bb {

struct EvalResult {
  int64_t count = 0;
  int64_t top1_correct = 0, top5_correct = 0;
  double seconds = 0;        // wall time of the whole pass (loading overlapped)
  double model_seconds = 0;  // time inside the model
  int num_classes = 0;
  std::vector<float> logits;  // [count, num_classes] in loader order, when kept
  std::vector<int> labels;    // [count] in loader order, when logits are kept
  double top1() const { return count ? 100.0 * static_cast<double>(top1_correct) / static_cast<double>(count) : 0; }
  double top5() const { return count ? 100.0 * static_cast<double>(top5_correct) / static_cast<double>(count) : 0; }
  double images_per_second() const { return seconds > 0 ? static_cast<double>(count) / seconds : 0; }
};

// model: images [B, C, S, S] → logits [B, K] (a view valid until the next call).
using ModelFn = std::function<TensorView(const TensorView&)>;

// With a sharded loader (ranks > 1, under MPI) every rank calls it: counts
// come back summed on every rank, logits and labels on rank 0 only (sample
// order), times as the slowest rank's.
EvalResult evaluate(const ModelFn& model, Loader& loader, bool keep_logits, const std::string& label = "eval");

}  // namespace bb
