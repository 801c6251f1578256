#include "train/adamw.hpp"

#include <cmath>

namespace bb {

std::vector<uint8_t> weight_decay_mask(const ViTParams& p) {
  std::vector<uint8_t> mask(static_cast<size_t>(p.count()), 0);
  for (const auto& e : p.entries) {
    bool no_decay = e.shape.size() <= 1 || e.name == "cls_token" || e.name == "dist_token" || e.name == "pos_embed";
    if (!no_decay)
      for (int64_t i = 0; i < e.numel; ++i) mask[static_cast<size_t>(e.offset + i)] = 1;
  }
  return mask;
}

double learning_rate(const TrainConfig& c, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (step < warmup_steps) return c.lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (total_steps <= warmup_steps) return c.lr;
  double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
  progress = std::min(1.0, progress);
  return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1.0 + std::cos(3.14159265358979323846 * progress));
}

double clip_grad_norm(float* grads, int64_t n, double max_norm) {
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) sq += double(grads[i]) * grads[i];
  double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    float s = static_cast<float>(max_norm / (norm + 1e-6));
    for (int64_t i = 0; i < n; ++i) grads[i] *= s;
  }
  return norm;
}

AdamW::AdamW(int64_t n, std::vector<uint8_t> decay_mask)
    : m(static_cast<size_t>(n), 0.0f), v(static_cast<size_t>(n), 0.0f), decay_(std::move(decay_mask)) {}

void AdamW::step(float* params, const float* grads, double lr, const TrainConfig& c) {
  ++t;
  const float b1 = static_cast<float>(c.beta1), b2 = static_cast<float>(c.beta2);
  const float bc1 = static_cast<float>(1.0 - std::pow(c.beta1, static_cast<double>(t)));
  const float bc2 = static_cast<float>(1.0 - std::pow(c.beta2, static_cast<double>(t)));
  const float lr_f = static_cast<float>(lr), decay = static_cast<float>(1.0 - lr * c.weight_decay);
  const float eps = static_cast<float>(c.adam_eps);
  const int64_t n = static_cast<int64_t>(m.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    if (decay_[k]) params[i] *= decay;
    m[k] = b1 * m[k] + (1 - b1) * grads[i];
    v[k] = b2 * v[k] + (1 - b2) * grads[i] * grads[i];
    const float mhat = m[k] / bc1, vhat = v[k] / bc2;
    params[i] -= lr_f * mhat / (std::sqrt(vhat) + eps);
  }
}

}  // namespace bb
