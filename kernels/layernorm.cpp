#include "kernels/layernorm.hpp"

#include <cmath>

#include "kernels/fast_math.hpp"
#include "core/simd.hpp"

namespace bb {
namespace {

// R rows: x, out [R, D]; w, b [D] or null (no affine: (x - mean) · rstd, the
// same float as · 1 + 0 up to the sign of a zero, which no quantiser sees).
// The rows' sums run side by side (sum_vec_rows: each row's float is
// sum_vec's), so short rows do not wait on one serial reduction at a time.
template <int R>
BB_INLINE void layernorm_group(const float* __restrict x, const float* __restrict w, const float* __restrict b,
                               float* __restrict out, int64_t D, float eps, float* __restrict mean_out,
                               float* __restrict rstd_out) {
  float mean[R], var[R];
  auto row_sums = [D](const float* rows, float* sums) {
    if constexpr (R == 1)
      sums[0] = sum_vec(rows, D);  // one row: the plain reduction (tests compare the groups with it)
    else
      sum_vec_rows<R>(rows, D, D, sums);
  };
  row_sums(x, mean);
  for (int r = 0; r < R; ++r) {
    mean[r] = mean[r] / static_cast<float>(D);
    const float* xi = x + r * D;
    float* oi = out + r * D;
    for (int64_t d = 0; d < D; ++d) oi[d] = (xi[d] - mean[r]) * (xi[d] - mean[r]);  // oi as scratch
  }
  row_sums(out, var);
  for (int r = 0; r < R; ++r) {
    const float* xi = x + r * D;
    float* oi = out + r * D;
    const float rstd = 1.0f / std::sqrt(var[r] / static_cast<float>(D) + eps);
    if (w) {
      for (int64_t d = 0; d < D; ++d) oi[d] = (xi[d] - mean[r]) * rstd * w[d] + b[d];
    } else {
      for (int64_t d = 0; d < D; ++d) oi[d] = (xi[d] - mean[r]) * rstd;
    }
    if (mean_out) mean_out[r] = mean[r];
    if (rstd_out) rstd_out[r] = rstd;
  }
}

BB_INLINE void layernorm_rows_isa_body(const float* __restrict x, const float* __restrict w, const float* __restrict b,
                                       float* __restrict out, int64_t rows, int64_t D, float eps,
                                       float* __restrict mean_out, float* __restrict rstd_out) {
  constexpr int kGroup = 8;
  int64_t n = 0;
  for (; n + kGroup <= rows; n += kGroup)
    layernorm_group<kGroup>(x + n * D, w, b, out + n * D, D, eps, mean_out ? mean_out + n : nullptr,
                            rstd_out ? rstd_out + n : nullptr);
  for (; n < rows; ++n)
    layernorm_group<1>(x + n * D, w, b, out + n * D, D, eps, mean_out ? mean_out + n : nullptr,
                       rstd_out ? rstd_out + n : nullptr);
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
