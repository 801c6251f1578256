#pragma once
// The matrix work of a transformer forward, behind one interface with two
// implementations: a naive reference (plain loops, obviously right) and
// oneDNN (primitives created once per shape, then reused).
#include <cstdint>
#include <memory>
#include <string>

namespace bb {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // y[M, N] = x[M, K] · W[N, K]^T + b[N]   (PyTorch Linear layout; b may be null)
  virtual void linear(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K) = 0;

  // Multi-head self-attention core on a fused qkv buffer:
  //   qkv    [B, T, 3, H, Dh]  (q, k, v stacked, heads contiguous inside each — timm's layout)
  //   scores [B, H, T, T]      scratch, holds softmax(q k^T · scale) on return
  //   out    [B, T, H, Dh]     = scores · v, heads concatenated per token
  virtual void attention(const float* qkv, float* scores, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh,
                         float scale) = 0;
};

std::unique_ptr<Backend> make_reference_backend();
std::unique_ptr<Backend> make_onednn_backend();
// "reference" or "onednn"; Error(Usage) otherwise.
std::unique_ptr<Backend> make_backend(const std::string& name);

// Row-wise softmax in place: x[rows, n]. Shared by both backends.
void softmax_rows(float* x, int64_t rows, int64_t n);

}  // namespace bb
