#include "models/layers.hpp"

#include <cmath>
#include <cstring>
#include <initializer_list>

namespace bb {

void patchify(const float* images, float* patches, int64_t B, int64_t C, int64_t S, int64_t P) {
  const int64_t G = S / P, Np = G * G, PD = C * P * P;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t p = 0; p < Np; ++p) {
      const int64_t py = p / G, px = p % G;
      float* dst = patches + (b * Np + p) * PD;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t ky = 0; ky < P; ++ky) {
          const float* src = images + ((b * C + c) * S + py * P + ky) * S + px * P;
          std::memcpy(dst + (c * P + ky) * P, src, static_cast<size_t>(P) * sizeof(float));
        }
    }
}

void layernorm_forward(const float* x, const float* w, const float* b, float* out, int64_t N, int64_t D, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* xi = x + n * D;
    float* oi = out + n * D;
    float mean = 0;
    for (int64_t d = 0; d < D; ++d) mean += xi[d];
    mean /= static_cast<float>(D);
    float var = 0;
    for (int64_t d = 0; d < D; ++d) var += (xi[d] - mean) * (xi[d] - mean);
    var /= static_cast<float>(D);
    const float rstd = 1.0f / std::sqrt(var + eps);
    for (int64_t d = 0; d < D; ++d) oi[d] = (xi[d] - mean) * rstd * w[d] + b[d];
  }
}

void gelu_forward(float* x, int64_t n) {
  const float inv_sqrt2 = 0.70710678118654752f;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * inv_sqrt2));
}

void add_inplace(float* y, const float* x, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void assemble_tokens(const float* patch_emb, const float* cls, const float* dist, const float* pos, float* x, int64_t B,
                     int64_t Np, int64_t D) {
  const int64_t prefix = (cls ? 1 : 0) + (dist ? 1 : 0), T = Np + prefix;
  for (int64_t b = 0; b < B; ++b) {
    float* xb = x + b * T * D;
    int64_t t = 0;
    for (const float* tok : {cls, dist}) {
      if (!tok) continue;
      for (int64_t d = 0; d < D; ++d) xb[t * D + d] = tok[d] + pos[t * D + d];
      ++t;
    }
    for (int64_t p = 0; p < Np; ++p, ++t)
      for (int64_t d = 0; d < D; ++d) xb[t * D + d] = patch_emb[(b * Np + p) * D + d] + pos[t * D + d];
  }
}

}  // namespace bb
