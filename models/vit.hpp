#pragma once
// The fp32 ViT forward: patch embedding as a GEMM over patches, class/dist
// tokens, position embedding, pre-norm blocks (LN → MHSA with fused qkv →
// proj, residual; LN → fc1 → GELU → fc2, residual), final norm, pooling, head.
// Activations live in one arena sized once per batch size.
#include <vector>

#include "core/tensor.hpp"
#include "kernels/backend.hpp"
#include "models/vit_params.hpp"

namespace bb {

class ViTRunner {
 public:
  ViTRunner(const ViTParams& params, Backend& backend);

  // images [B, C, S, S] → logits [B, classes]; the view lives in the arena
  // until the next call. DeiT distilled: mean of head and head_dist.
  TensorView forward(const TensorView& images);

  // When set, forward() copies activations into taps: [0] tokens after
  // embedding, [1..depth] after each block, [depth+1] after the final norm
  // (token pooling) — each [B, T, D]. For tests against reference vectors.
  void capture(std::vector<Tensor>* taps) { taps_ = taps; }
  int64_t arena_floats() const { return arena_.numel(); }
  const ViTConfig& config() const { return p_.cfg; }
  Backend& backend() { return be_; }

 private:
  void reserve(int64_t B);
  const ViTParams& p_;
  Backend& be_;
  int64_t batch_ = 0;
  Tensor arena_;
  // Views into the arena (shapes for the current batch B, T tokens, D width):
  float* patches_ = nullptr;  // [B, Np, C*P*P]
  float* pemb_ = nullptr;     // [B, Np, D]
  float* x_ = nullptr;        // [B, T, D]   residual stream
  float* ln_ = nullptr;       // [B, T, D]
  float* qkv_ = nullptr;      // [B, T, 3D]
  float* scores_ = nullptr;   // [B, H, T, T]
  float* att_ = nullptr;      // [B, T, D]
  float* tmp_ = nullptr;      // [B, T, D]
  float* hid_ = nullptr;      // [B, T, Hm]
  float* pooled_ = nullptr;   // [2, B, D]  (second half: dist token)
  float* logits_ = nullptr;   // [2, B, K]
  std::vector<Tensor>* taps_ = nullptr;
};

}  // namespace bb
