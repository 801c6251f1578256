#include "kernels/layernorm.hpp"

#include <cmath>

#include "kernels/fast_math.hpp"
#include "kernels/simd.hpp"

namespace bb {
namespace {

// x, out [rows, D]; w, b [D] or null (no affine: (x - mean) · rstd, the same
// float as · 1 + 0 up to the sign of a zero, which no quantiser sees).
BB_INLINE void layernorm_rows_isa_body(const float* __restrict x, const float* __restrict w, const float* __restrict b,
                                   float* __restrict out, int64_t rows, int64_t D, float eps, float* __restrict mean_out,
                                   float* __restrict rstd_out) {
  for (int64_t n = 0; n < rows; ++n) {
    const float* xi = x + n * D;
    float* oi = out + n * D;
    const float mean = sum_vec(xi, D) / static_cast<float>(D);
    for (int64_t d = 0; d < D; ++d) oi[d] = (xi[d] - mean) * (xi[d] - mean);  // oi as scratch
    const float var = sum_vec(oi, D) / static_cast<float>(D);
    const float rstd = 1.0f / std::sqrt(var + eps);
    if (w) {
      for (int64_t d = 0; d < D; ++d) oi[d] = (xi[d] - mean) * rstd * w[d] + b[d];
    } else {
      for (int64_t d = 0; d < D; ++d) oi[d] = (xi[d] - mean) * rstd;
    }
    if (mean_out) mean_out[n] = mean;
    if (rstd_out) rstd_out[n] = rstd;
  }
}
BB_MULTIVERSION(layernorm_rows_isa,
                (const float* x, const float* w, const float* b, float* out, int64_t rows, int64_t D, float eps,
                 float* mean_out, float* rstd_out),
                (x, w, b, out, rows, D, eps, mean_out, rstd_out))

}  // namespace

void layernorm_rows(const float* x, const float* w, const float* b, float* out, int64_t rows, int64_t D, float eps,
                    float* mean, float* rstd) {
  layernorm_rows_isa(x, w, b, out, rows, D, eps, mean, rstd);
}

}  // namespace bb
