#pragma once
// AdamW (PyTorch's update order: decay the weights, then the Adam step) over
// one flat parameter buffer, with the learning-rate schedule and global
// gradient-norm clipping beside it.
#include <cstdint>
#include <vector>

#include "models/vit_params.hpp"
#include "train/train_config.hpp"

namespace bb {

// 1 where weight decay applies (Linear/conv weights), 0 on norms, biases,
// cls/dist tokens and pos_embed — as timm's no_weight_decay.
std::vector<uint8_t> weight_decay_mask(const ViTParams& p);

// Linear warm-up from 0 over warmup_steps, then cosine from lr to min_lr at total_steps.
double learning_rate(const TrainConfig& c, int64_t step, int64_t warmup_steps, int64_t total_steps);

// Scales grads so their global L2 norm is at most max_norm (when > 0); returns the norm before.
double clip_grad_norm(float* grads, int64_t n, double max_norm);

class AdamW {
 public:
  AdamW(int64_t n, std::vector<uint8_t> decay_mask);
  // One update of params from grads at learning rate lr; t counts from 1.
  void step(float* params, const float* grads, double lr, const TrainConfig& c);
  int64_t t = 0;
  std::vector<float> m, v;  // first and second moments, [n]

 private:
  std::vector<uint8_t> decay_;
};

}  // namespace bb
