#pragma once
// The fp32 ViT, forward and backward: patch embedding as a GEMM over patches,
// class/dist tokens, position embedding, pre-norm blocks (LN → MHSA with fused
// qkv → proj, residual; LN → fc1 → GELU → fc2, residual), final norm, pooling,
// head. Activations live in one arena sized once per batch size: in inference
// mode every block reuses the same buffers; in training mode each block keeps
// its own, as backward needs them.
#include <vector>

#include "core/tensor.hpp"
#include "kernels/backend.hpp"
#include "models/vit_params.hpp"

namespace bb {

class ViTRunner {
 public:
  ViTRunner(const ViTParams& params, Backend& backend, bool training = false);

  // images [B, C, S, S] → logits [B, classes]; the view lives in the arena
  // until the next call. DeiT distilled: mean of head and head_dist.
  TensorView forward(const TensorView& images);

  // Training mode, after forward(): from dlogits [B, classes], adds the
  // gradient of every parameter into grads (flat, the params' layout; the
  // caller zeroes it). Distilled models are trained by the distillation issue.
  void backward(const float* dlogits, float* grads);

  // When set, forward() copies activations into taps: [0] tokens after
  // embedding, [1..depth] after each block, [depth+1] after the final norm
  // (token pooling) — each [B, T, D]. For tests against reference vectors.
  void capture(std::vector<Tensor>* taps) { taps_ = taps; }
  int64_t arena_floats() const { return arena_.numel(); }
  const ViTConfig& config() const { return p_.cfg; }
  Backend& backend() { return be_; }

 private:
  // One block's saved activations ([B, T, ...] with BT = B·T rows).
  struct BlockActs {
    float* x_in;              // [BT, D]  block input (residual stream)
    float *ln1, *mean1, *rstd1;  // [BT, D], [BT], [BT]
    float* qkv;               // [BT, 3D]
    float* probs;             // [B, H, T, T] softmax
    float* att;               // [BT, D]  heads concatenated
    float* x_mid;             // [BT, D]  after the attention residual
    float *ln2, *mean2, *rstd2;  // [BT, D], [BT], [BT]
    float* fc1;               // [BT, Hm] pre-activation
    float* gelu;              // [BT, Hm] (aliases fc1 in inference)
  };
  void reserve(int64_t B);
  const ViTParams& p_;
  Backend& be_;
  bool training_;
  int64_t batch_ = 0;
  Tensor arena_;
  float* patches_ = nullptr;  // [B, Np, C*P*P]
  float* pemb_ = nullptr;     // [B, Np, D]
  std::vector<BlockActs> acts_;
  float* x_out_ = nullptr;    // [BT, D]  after the last block
  float *lnf_ = nullptr, *meanf_ = nullptr, *rstdf_ = nullptr;  // [BT, D] (avg pool: [B, D]), [BT], [BT]
  float* pool_in_ = nullptr;  // [B, D] avg pool: mean of patch tokens before fc_norm
  float* pooled_ = nullptr;   // [2, B, D]  (second half: dist token)
  float* logits_ = nullptr;   // [2, B, K]
  float* tmp_ = nullptr;      // [BT, D]  proj / fc2 output
  // Backward scratch (training only).
  float *dx_ = nullptr, *dln_ = nullptr, *dqkv_ = nullptr, *dprobs_ = nullptr, *datt_ = nullptr, *dhid_ = nullptr;
  float *dpemb_ = nullptr, *dpooled_ = nullptr;
  std::vector<Tensor>* taps_ = nullptr;
};

}  // namespace bb
