// The reference backend: plain loops, no tricks beyond a parallel outer loop.
#include <cmath>

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
};

}  // namespace

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

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "reference") return make_reference_backend();
  if (name == "onednn") return make_onednn_backend();
  throw Error::usage("unknown backend \"" + name + "\" (known: reference, onednn)");
}

}  // namespace bb
