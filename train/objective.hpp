#pragma once
// What a training step minimises. After the student's forward, an objective
// computes the loss and the gradients of the student's outputs (logits of each
// head, and optionally each block's output); the trainer then runs backward.
//
//   CrossEntropy: CE(student, labels) with label smoothing (the teacher's recipe).
//   Distill (student from a fixed teacher, evaluated on the same images):
//     soft: (1 - α) CE(s, y) + α T² KL(softmax(t / T) ‖ softmax(s / T))
//     hard: (1 - α) CE(s, y) + α CE(s, argmax t)
//     none: CE(s, y) only (the CE-only ablation; the teacher is not run)
//   With a DeiT distillation token the class head takes the CE term and
//   head_dist the distillation term (weights 1 - α and α; DeiT uses α = 0.5).
//   hidden_mse β > 0 adds β · mean over student blocks of mean((h_s - h_t)²)
//   against the teacher block at the same relative depth (widths must match).
//   attn_mse γ > 0 adds γ · mean over student blocks of mean((p_s − p_t)²)
//   over the attention probabilities [B, H, T, T] of the same block pair
//   (TinyBERT's attention loss, on the probabilities; heads and tokens must match).
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "datasets/loader.hpp"
#include "kernels/backend.hpp"
#include "models/vit.hpp"
#include "train/teacher_logit_cache.hpp"

namespace bb {

struct StepGrads {
  std::vector<float> dlogits, dlogits_dist;   // [B, K] each (dist: DeiT token students only)
  bool has_dist = false;
  std::vector<std::vector<float>> dblock;     // per student block, [B, T, D] (empty: no hidden loss)
  std::vector<const float*> dblock_ptrs;
  std::vector<std::vector<float>> dattn;      // per student block, [B, H, T, T] (empty: no attention loss)
  std::vector<const float*> dattn_ptrs;
};

class Objective {
 public:
  virtual ~Objective() = default;
  // logits: the student's forward output for batch b. Returns the mean loss.
  virtual float step(const Batch& b, ViTRunner& student, const TensorView& logits, StepGrads& g) = 0;
};

class CrossEntropyObjective final : public Objective {
 public:
  explicit CrossEntropyObjective(float smoothing) : smoothing_(smoothing) {}
  float step(const Batch& b, ViTRunner& student, const TensorView& logits, StepGrads& g) override;

 private:
  float smoothing_;
  std::vector<float> probs_;
};

struct DistillConfig {
  std::string kind = "soft";  // soft | hard | none
  double alpha = 0.7;         // weight of the distillation term
  double temperature = 4.0;   // soft only
  double hidden_mse = 0.0;    // β of the hidden-state term (0 = off)
  double attn_mse = 0.0;      // γ of the attention-map term (0 = off)
};

class DistillObjective final : public Objective {
 public:
  // The teacher runs in inference mode on its own backend (fp32, or its own quant plan).
  // cache (optional): the teacher's logits by batch, shared with other students of
  // the same teacher; bypassed when the hidden-state or attention terms need its taps.
  DistillObjective(const ViTParams& teacher, const QuantPlan* teacher_plan, DistillConfig cfg, float smoothing,
                   TeacherLogitCache* cache = nullptr);
  float step(const Batch& b, ViTRunner& student, const TensorView& logits, StepGrads& g) override;

 private:
  const ViTParams& teacher_;
  std::unique_ptr<Backend> backend_;
  ViTRunner runner_;
  DistillConfig cfg_;
  float smoothing_;
  TeacherLogitCache* cache_;
  std::vector<Tensor> taps_, attn_taps_;
  std::vector<float> probs_, tmp_, tprobs_;
  std::vector<int> hard_;
};

// Soft-distillation term alone: T² KL(softmax(t/T) ‖ softmax(s/T)) averaged
// over the batch; adds weight · its gradient w.r.t. s into ds (if not null).
float soft_distill_loss(const float* s, const float* t, float* ds, int64_t B, int64_t K, float temperature, float weight);

}  // namespace bb
