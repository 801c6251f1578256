#pragma once
// The matrix work of a transformer forward, behind one interface with two
// implementations: a naive reference (plain loops, obviously right) and
// oneDNN (primitives created once per shape, then reused).
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/model_backend.hpp"

namespace bb {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // y[M, N] = x[M, K] · W[N, K]^T + b[N]   (PyTorch Linear layout; b may be null)
  virtual void linear(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K) = 0;

  // Multi-head self-attention core on a fused qkv buffer:
  //   qkv    [B, T, 3, H, Dh]  (q, k, v stacked, heads contiguous inside each — timm's layout)
  //   scores [B, H, T, T]      holds softmax(q k^T · scale) on return (for backward); null in
  //                            inference: nothing is saved (the backend uses its own bounded scratch)
  //   out    [B, T, H, Dh]     = scores · v, heads concatenated per token
  virtual void attention(const float* qkv, float* scores, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh,
                         float scale) = 0;

  // Backward of linear: dx[M, K] = dy[M, N] · W[N, K] (skipped when dx is null);
  // dW[N, K] += dy^T · x; db[N] += column sums of dy (skipped when db is null).
  virtual void linear_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                               int64_t M, int64_t N, int64_t K) = 0;

  // Backward of attention: from qkv [B, T, 3, H, Dh], probs [B, H, T, T] (the
  // softmax saved by attention()) and dout [B, T, H, Dh], writes dqkv
  // [B, T, 3, H, Dh] (overwritten); dscratch [B, H, T, T] is scratch.
  virtual void attention_backward(const float* qkv, const float* probs, const float* dout, float* dqkv,
                                  float* dscratch, int64_t B, int64_t T, int64_t H, int64_t Dh, float scale) = 0;

  // Prepared primitives held (0 where none are cached): one per call site,
  // shape and thread count (a test checks a thread count gets its own).
  virtual int64_t cached_primitives() const { return 0; }
};

std::unique_ptr<Backend> make_reference_backend();
// The oneDNN backend runs attention on the per-head fused kernel
// (attention_fused.hpp) for short sequences of narrow heads, T <= this and
// Dh <= 16, and on batched oneDNN matmuls otherwise. bench_vit's BM_Attention
// decided it (2 threads, forward + backward): T 50 / Dh 16 fused 4.2 ms vs
// batched 4.7 ms; T 65 / Dh 32 11.7 vs 8.6; T 197 / Dh 64 11.6 vs 8.1.
// Passing 0 always takes the batched path.
constexpr int64_t kFusedAttentionMaxTokens = 64;
std::unique_ptr<Backend> make_onednn_backend(int64_t fused_attention_max_tokens = kFusedAttentionMaxTokens);
// The fp32 matrix work of a model backend: the reference for kReference, oneDNN for every other.
std::unique_ptr<Backend> make_backend(ModelBackend b);

// Row-wise softmax in place: x[rows, n]. Shared by both backends.
void softmax_rows(float* x, int64_t rows, int64_t n);
// Softmax backward in place: ds = p * (dp - sum(dp * p)) * scale, per row of n.
void softmax_backward_rows(const float* p, float* dp, int64_t rows, int64_t n, float scale);
// db[N] += column sums of dy[M, N].
void bias_backward(const float* dy, float* db, int64_t M, int64_t N);

}  // namespace bb
