// The reference backend: plain loops, no tricks beyond a parallel outer loop.
#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "kernels/backend.hpp"

namespace bb {
namespace {

class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return "reference"; }

  void linear(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K) override {
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        float acc = b ? b[n] : 0.0f;
        for (int64_t k = 0; k < K; ++k) acc += x[m * K + k] * w[n * K + k];
        y[m * N + n] = acc;
      }
  }

  void attention(const float* qkv, float* scores, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh,
                 float scale) override {
    const int64_t D = H * Dh;
    std::vector<float> own;  // inference: the probabilities are scratch
    if (!scores) {
      own.resize(static_cast<size_t>(B * H * T * T));
      scores = own.data();
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) {
        float* s = scores + ((b * H + h) * T) * T;
        for (int64_t i = 0; i < T; ++i) {
          const float* q = qkv + (b * T + i) * 3 * D + 0 * D + h * Dh;
          for (int64_t j = 0; j < T; ++j) {
            const float* k = qkv + (b * T + j) * 3 * D + 1 * D + h * Dh;
            float acc = 0;
            for (int64_t d = 0; d < Dh; ++d) acc += q[d] * k[d];
            s[i * T + j] = acc * scale;
          }
        }
        softmax_rows(s, T, T);
        for (int64_t i = 0; i < T; ++i) {
          float* o = out + (b * T + i) * D + h * Dh;
          for (int64_t d = 0; d < Dh; ++d) o[d] = 0;
          for (int64_t j = 0; j < T; ++j) {
            const float* v = qkv + (b * T + j) * 3 * D + 2 * D + h * Dh;
            for (int64_t d = 0; d < Dh; ++d) o[d] += s[i * T + j] * v[d];
          }
        }
      }
  }

  void linear_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t M,
                       int64_t N, int64_t K) override {
    if (dx) {
#pragma omp parallel for schedule(static)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k) {
          float acc = 0;
          for (int64_t n = 0; n < N; ++n) acc += dy[m * N + n] * w[n * K + k];
          dx[m * K + k] = acc;
        }
    }
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        float acc = 0;
        for (int64_t m = 0; m < M; ++m) acc += dy[m * N + n] * x[m * K + k];
        dw[n * K + k] += acc;
      }
    if (db) bias_backward(dy, db, M, N);
  }

  void attention_backward(const float* qkv, const float* probs, const float* dout, float* dqkv, float* dscratch,
                          int64_t B, int64_t T, int64_t H, int64_t Dh, float scale) override {
    const int64_t D = H * Dh;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const float* p = probs + ((b * H + h) * T) * T;
        float* ds = dscratch + ((b * H + h) * T) * T;
        auto q = [&](int64_t t) { return qkv + (b * T + t) * 3 * D + 0 * D + h * Dh; };
        auto k = [&](int64_t t) { return qkv + (b * T + t) * 3 * D + 1 * D + h * Dh; };
        auto v = [&](int64_t t) { return qkv + (b * T + t) * 3 * D + 2 * D + h * Dh; };
        auto dq = [&](int64_t t) { return dqkv + (b * T + t) * 3 * D + 0 * D + h * Dh; };
        auto dk = [&](int64_t t) { return dqkv + (b * T + t) * 3 * D + 1 * D + h * Dh; };
        auto dv = [&](int64_t t) { return dqkv + (b * T + t) * 3 * D + 2 * D + h * Dh; };
        auto go = [&](int64_t t) { return dout + (b * T + t) * D + h * Dh; };
        // dV[j] = sum_i P[i, j] dO[i];  dP[i, j] = dO[i] . V[j]
        for (int64_t j = 0; j < T; ++j)
          for (int64_t d = 0; d < Dh; ++d) {
            float acc = 0;
            for (int64_t i = 0; i < T; ++i) acc += p[i * T + j] * go(i)[d];
            dv(j)[d] = acc;
          }
        for (int64_t i = 0; i < T; ++i)
          for (int64_t j = 0; j < T; ++j) {
            float acc = 0;
            for (int64_t d = 0; d < Dh; ++d) acc += go(i)[d] * v(j)[d];
            ds[i * T + j] = acc;
          }
        softmax_backward_rows(p, ds, T, T, scale);
        // dQ[i] = sum_j dS[i, j] K[j];  dK[j] = sum_i dS[i, j] Q[i]
        for (int64_t i = 0; i < T; ++i)
          for (int64_t d = 0; d < Dh; ++d) {
            float acc = 0;
            for (int64_t j = 0; j < T; ++j) acc += ds[i * T + j] * k(j)[d];
            dq(i)[d] = acc;
          }
        for (int64_t j = 0; j < T; ++j)
          for (int64_t d = 0; d < Dh; ++d) {
            float acc = 0;
            for (int64_t i = 0; i < T; ++i) acc += ds[i * T + j] * q(i)[d];
            dk(j)[d] = acc;
          }
      }
  }
};

}  // namespace

void softmax_backward_rows(const float* p, float* dp, int64_t rows, int64_t n, float scale) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* pr = p + r * n;
    float* g = dp + r * n;
    float dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += g[j] * pr[j];
    for (int64_t j = 0; j < n; ++j) g[j] = pr[j] * (g[j] - dot) * scale;
  }
}

void bias_backward(const float* dy, float* db, int64_t M, int64_t N) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    float acc = 0;
    for (int64_t m = 0; m < M; ++m) acc += dy[m * N + n];
    db[n] += acc;
  }
}

void softmax_rows(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* p = x + r * n;
    float mx = p[0];
    for (int64_t j = 1; j < n; ++j) mx = p[j] > mx ? p[j] : mx;
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      p[j] = std::exp(p[j] - mx);
      sum += p[j];
    }
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; ++j) p[j] *= inv;
  }
}

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

std::unique_ptr<Backend> make_backend(ModelBackend b) {
  return model_backend_row(b).reference_matrix ? make_reference_backend() : make_onednn_backend();
}

}  // namespace bb
