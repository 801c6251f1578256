#pragma once
// One oneDNN matmul with its weights reordered once into oneDNN's preferred
// layout (as an inference engine would hold them): the fp32 and int8 peers the
// bit kernels are measured against, and the W8A8 baseline backend.
//   f32:  y[M, N] = x[M, K] (f32) · W[N, K]^T (f32)
//   u8s8: y[M, N] = (x[M, K] (u8) · W[N, K]^T (s8)) · scale[n]   (f32 out)
//   s8s8: the same with s8 activations
#include <cstdint>
#include <memory>
#include <vector>

namespace bb {

enum class OnednnMatmulType { kF32, kU8S8, kS8S8 };

class OnednnMatmul {
 public:
  // w: float [N, K] for kF32, int8 [N, K] otherwise; scales [N] (int8 types).
  OnednnMatmul(OnednnMatmulType type, const void* w, const float* scales, int64_t M, int64_t N, int64_t K);
  ~OnednnMatmul();
  OnednnMatmul(OnednnMatmul&&) noexcept;
  // x: [M, K] float or uint8/int8 per type; y [M, N] float.
  void run(const void* x, float* y);
  int64_t M() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bb
