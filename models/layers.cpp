#include "models/layers.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "kernels/fast_math.hpp"
#include "kernels/layernorm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vector_ops.hpp"

namespace bb {

void patchify(const float* images, float* patches, int64_t B, int64_t C, int64_t S, int64_t P) {
  const int64_t G = S / P, Np = G * G, PD = C * P * P;
#pragma omp parallel for collapse(2) schedule(static) if (parallel_pays(B * Np * PD))
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

namespace {

// Rows per parallel chunk of the row-wise ops; chunking depends only on the
// shapes, so reductions across chunks are the same whatever the thread count.
constexpr int64_t kRows = 64;
int64_t chunks_of(int64_t n) { return (n + kRows - 1) / kRows; }
int64_t rows_in(int64_t c, int64_t n) { return n - c * kRows < kRows ? n - c * kRows : kRows; }

// dx [rows, D] += input gradient; pw, pb [D] = this chunk's dW, db partial sums.
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), with g = dout * w and xhat = (x - mean) * rstd.
BB_INLINE void layernorm_rows_backward_body(const float* __restrict dout, const float* __restrict x,
                                            const float* __restrict w, const float* __restrict mean,
                                            const float* __restrict rstd, float* __restrict dx, float* __restrict pw,
                                            float* __restrict pb, int64_t rows, int64_t D) {
  for (int64_t d = 0; d < D; ++d) pw[d] = pb[d] = 0;
  for (int64_t n = 0; n < rows; ++n) {
    const float* go = dout + n * D;
    const float* xi = x + n * D;
    const float mu = mean[n], rs = rstd[n];
    float g_mean = 0, gx_mean = 0;
    for (int64_t d = 0; d < D; ++d) {
      const float xhat = (xi[d] - mu) * rs;
      const float g = go[d] * w[d];
      g_mean += g;
      gx_mean += g * xhat;
      pw[d] += go[d] * xhat;
      pb[d] += go[d];
    }
    g_mean /= static_cast<float>(D);
    gx_mean /= static_cast<float>(D);
    float* dxi = dx + n * D;
    for (int64_t d = 0; d < D; ++d) {
      const float xhat = (xi[d] - mu) * rs;
      dxi[d] += rs * (go[d] * w[d] - g_mean - xhat * gx_mean);
    }
  }
}
BB_MULTIVERSION(layernorm_rows_backward,
                (const float* dout, const float* x, const float* w, const float* mean, const float* rstd, float* dx,
                 float* pw, float* pb, int64_t rows, int64_t D),
                (dout, x, w, mean, rstd, dx, pw, pb, rows, D))

constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;

BB_INLINE void gelu_chunk_body(const float* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = 0.5f * x[i] * (1.0f + erf_approx(x[i] * kInvSqrt2));
}
BB_MULTIVERSION(gelu_chunk, (const float* x, float* out, int64_t n), (x, out, n))

BB_INLINE void gelu_backward_chunk_body(const float* __restrict x, const float* dout, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float cdf = 0.5f * (1.0f + erf_approx(x[i] * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * exp_approx(-0.5f * x[i] * x[i]);
    dx[i] = dout[i] * (cdf + x[i] * pdf);
  }
}
BB_MULTIVERSION(gelu_backward_chunk, (const float* x, const float* dout, float* dx, int64_t n), (x, dout, dx, n))

}  // namespace

void layernorm_forward(const float* x, const float* w, const float* b, float* out, int64_t N, int64_t D, float eps,
                       float* mean_out, float* rstd_out) {
#pragma omp parallel for schedule(static) if (parallel_pays(N * D))
  for (int64_t c = 0; c < chunks_of(N); ++c)
    layernorm_rows(x + c * kRows * D, w, b, out + c * kRows * D, rows_in(c, N), D, eps,
                   mean_out ? mean_out + c * kRows : nullptr, rstd_out ? rstd_out + c * kRows : nullptr);
}

void layernorm_backward(const float* dout, const float* x, const float* w, const float* mean, const float* rstd,
                        float* dx, float* dw, float* db, int64_t N, int64_t D) {
  const int64_t chunks = chunks_of(N);
  float* part = scratch(0, static_cast<size_t>(chunks * 2 * D));  // [chunks, 2, D]: dW, db partial sums
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c)
    layernorm_rows_backward(dout + c * kRows * D, x + c * kRows * D, w, mean + c * kRows, rstd + c * kRows,
                            dx + c * kRows * D, part + c * 2 * D, part + c * 2 * D + D, rows_in(c, N), D);
  for (int64_t c = 0; c < chunks; ++c)  // chunk order: deterministic
    for (int64_t d = 0; d < D; ++d) {
      if (dw) dw[d] += part[c * 2 * D + d];
      if (db) db[d] += part[c * 2 * D + D + d];
    }
}

// GELU runs over flat arrays in chunks of this many elements.
constexpr int64_t kGeluChunk = 4096;

void gelu_forward(const float* x, float* out, int64_t n) {
#pragma omp parallel for schedule(static) if (parallel_pays(n))
  for (int64_t i = 0; i < n; i += kGeluChunk) gelu_chunk(x + i, out + i, n - i < kGeluChunk ? n - i : kGeluChunk);
}

void gelu_backward(const float* x, const float* dout, float* dx, int64_t n) {
#pragma omp parallel for schedule(static) if (parallel_pays(n))
  for (int64_t i = 0; i < n; i += kGeluChunk)
    gelu_backward_chunk(x + i, dout + i, dx + i, n - i < kGeluChunk ? n - i : kGeluChunk);
}

void add(const float* a, const float* b, float* out, int64_t n) {
#pragma omp parallel for schedule(static) if (parallel_pays(n))
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
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

void assemble_tokens_backward(const float* dx, float* dpatch_emb, float* dcls, float* ddist, float* dpos, int64_t B,
                              int64_t Np, int64_t D, int64_t prefix) {
  const int64_t T = Np + prefix;
  if (dpatch_emb)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(dpatch_emb + b * Np * D, dx + (b * T + prefix) * D, static_cast<size_t>(Np * D) * sizeof(float));
  for (int64_t b = 0; b < B; ++b) {
    const float* xb = dx + b * T * D;
    if (dpos)
      for (int64_t i = 0; i < T * D; ++i) dpos[i] += xb[i];
    int64_t t = 0;
    for (float* tok : {dcls, ddist}) {
      if (t >= prefix) break;
      if (tok)
        for (int64_t d = 0; d < D; ++d) tok[d] += xb[t * D + d];
      ++t;
    }
  }
}

float cross_entropy(const float* logits, const int* labels, float* probs, float* dlogits, int64_t B, int64_t K,
                    float smoothing) {
  double loss = 0;
  for (int64_t b = 0; b < B; ++b) {
    const float* l = logits + b * K;
    float* p = probs + b * K;
    float mx = l[0];
    for (int64_t k = 1; k < K; ++k) mx = std::max(mx, l[k]);
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += std::exp(static_cast<double>(l[k] - mx));
    const double log_sum = std::log(sum);
    const float off = smoothing / static_cast<float>(K), on = 1.0f - smoothing + off;
    double row = 0;
    for (int64_t k = 0; k < K; ++k) {
      double logp = static_cast<double>(l[k] - mx) - log_sum;
      p[k] = static_cast<float>(std::exp(logp));
      float target = k == labels[b] ? on : off;
      row -= target * logp;
      if (dlogits) dlogits[b * K + k] = (p[k] - target) / static_cast<float>(B);
    }
    loss += row;
  }
  return static_cast<float>(loss / static_cast<double>(B));
}

void channel_shift_forward(const float* x, const float* shift, float* out, int64_t M, int64_t K) {
#pragma omp parallel for schedule(static) if (parallel_pays(M * K))
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) out[m * K + k] = x[m * K + k] - shift[k];
}

namespace {
// Σ over rows of per-row contributions to [cols] sums: rows in fixed chunks of
// kRows (chunks in parallel, each summing its rows in order into its own
// partial), then the partials added in chunk order — the same floats whatever
// the thread count, and every loop runs along contiguous columns.
// add_rows(m0, m1, part) adds rows [m0, m1) into part[cols].
template <class F>
void sum_rows_in_chunks(int64_t M, int64_t cols, float* acc, F add_rows) {
  const int64_t chunks = chunks_of(M);
  std::vector<float> parts(static_cast<size_t>(chunks * cols), 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) add_rows(c * kRows, c * kRows + rows_in(c, M), parts.data() + c * cols);
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t n = 0; n < cols; ++n) acc[n] += parts[static_cast<size_t>(c * cols + n)];
}
}  // namespace

void channel_shift_backward(const float* dout, float* dshift, int64_t M, int64_t K) {
  // dshift -= Σ_m dout: the sum, then one subtraction per channel.
  std::vector<float> sum(static_cast<size_t>(K), 0.0f);
  sum_rows_in_chunks(M, K, sum.data(), [&](int64_t m0, int64_t m1, float* part) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t k = 0; k < K; ++k) part[k] += dout[m * K + k];
  });
  for (int64_t k = 0; k < K; ++k) dshift[k] -= sum[static_cast<size_t>(k)];
}

void bireal_shortcut_forward(const float* x, float* y, int64_t M, int64_t N, int64_t K) {
#pragma omp parallel for schedule(static) if (parallel_pays(M * N))
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * K;
    float* yr = y + m * N;
    if (N >= K) {  // y[n] += x[n mod K], a K-wide stripe at a time
      for (int64_t n0 = 0; n0 < N; n0 += K)
        for (int64_t k = 0; k < std::min(K, N - n0); ++k) yr[n0 + k] += xr[k];
    } else {  // y[n] += mean of x[n], x[n + N], x[n + 2N], ... below K
      for (int64_t n = 0; n < N; ++n) {
        float s = 0;
        int64_t count = 0;
        for (int64_t k = n; k < K; k += N, ++count) s += xr[k];
        yr[n] += s / static_cast<float>(count);
      }
    }
  }
}

void bireal_shortcut_backward(const float* dy, float* dx, int64_t M, int64_t N, int64_t K) {
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m) {
    const float* dr = dy + m * N;
    float* xr = dx + m * K;
    if (N >= K) {
      for (int64_t n0 = 0; n0 < N; n0 += K)
        for (int64_t k = 0; k < std::min(K, N - n0); ++k) xr[k] += dr[n0 + k];
    } else {  // x[k] fed the mean of output k mod N, over (K - 1 - k mod N) / N + 1 inputs
      for (int64_t k = 0; k < K; ++k) {
        const int64_t n = k % N;
        xr[k] += dr[n] / static_cast<float>((K - 1 - n) / N + 1);
      }
    }
  }
}

namespace {
// PReLU as max(v, 0) + β·min(v, 0): the select's value (one term is an exact
// zero) without a branch on the sign, so each ISA path vectorises it.
BB_INLINE void rprelu_rows_body(float* __restrict y, const float* __restrict gamma, const float* __restrict beta,
                                const float* __restrict zeta, float* __restrict z, int64_t rows, int64_t N) {
  for (int64_t m = 0; m < rows; ++m) {
    float* yr = y + m * N;
    if (z)
      for (int64_t n = 0; n < N; ++n) z[m * N + n] = yr[n] - gamma[n];
    for (int64_t n = 0; n < N; ++n) {
      const float v = yr[n] - gamma[n];
      yr[n] = (std::max(v, 0.0f) + beta[n] * std::min(v, 0.0f)) + zeta[n];
    }
  }
}
BB_MULTIVERSION(rprelu_rows, (float* y, const float* gamma, const float* beta, const float* zeta, float* z, int64_t rows,
                              int64_t N),
                (y, gamma, beta, zeta, z, rows, N))

// Rows [rows, N]: dy, and Σ dy, Σ dout·z[z ≤ 0], Σ dout added into sg, sb, sz
// [N]; pos ∈ {0, 1} masks instead of branches (exact: one term is zero).
BB_INLINE void rprelu_backward_rows_body(const float* __restrict dout, const float* __restrict z,
                                         const float* __restrict beta, float* __restrict dy, float* __restrict sg,
                                         float* __restrict sb, float* __restrict sz, int64_t rows, int64_t N) {
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const float d = dout[m * N + n], v = z[m * N + n], pos = v > 0 ? 1.0f : 0.0f;
      const float g = pos * d + (1.0f - pos) * (beta[n] * d);
      sz[n] += d;
      sb[n] += (1.0f - pos) * (d * v);
      sg[n] += g;
      dy[m * N + n] = g;
    }
}
BB_MULTIVERSION(rprelu_backward_rows, (const float* dout, const float* z, const float* beta, float* dy, float* sg,
                                       float* sb, float* sz, int64_t rows, int64_t N),
                (dout, z, beta, dy, sg, sb, sz, rows, N))
}  // namespace

void rprelu_forward(float* y, const float* gamma, const float* beta, const float* zeta, float* z, int64_t M, int64_t N) {
#pragma omp parallel for schedule(static) if (parallel_pays(M * N))
  for (int64_t c = 0; c < chunks_of(M); ++c)
    rprelu_rows(y + c * kRows * N, gamma, beta, zeta, z ? z + c * kRows * N : nullptr, rows_in(c, M), N);
}

void rprelu_backward(const float* dout, const float* z, const float* beta, float* dy, float* dgamma, float* dbeta,
                     float* dzeta, int64_t M, int64_t N) {
  // One pass over the rows: dy, and per chunk [3, N] partials of Σ dy, Σ dout·z[z ≤ 0], Σ dout.
  std::vector<float> sums(static_cast<size_t>(3 * N), 0.0f);
  sum_rows_in_chunks(M, 3 * N, sums.data(), [&](int64_t m0, int64_t m1, float* part) {
    rprelu_backward_rows(dout + m0 * N, z + m0 * N, beta, dy + m0 * N, part, part + N, part + 2 * N, m1 - m0, N);
  });
  for (int64_t n = 0; n < N; ++n) {
    dgamma[n] -= sums[static_cast<size_t>(n)];
    dbeta[n] += sums[static_cast<size_t>(N + n)];
    dzeta[n] += sums[static_cast<size_t>(2 * N + n)];
  }
}

}  // namespace bb
