// The integer softmax and GELU (int_ops.hpp). Each has a plain-loop reference
// and a body compiled per ISA (simd.hpp); both are integer arithmetic on the
// same constants, so they agree bit for bit, which the tests check on every path.
#include "kernels/int_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/error.hpp"
#include "core/simd.hpp"
#include "kernels/parallel.hpp"

namespace bb {
namespace {

constexpr int kExpEntries = 1 << kExpFrac;
constexpr int kSigmoidSteps = 1 << kSigmoidFrac;
constexpr int kSigmoidEntries = 16 << kSigmoidFrac;  // σ(−|x|)·2^15 rounds to 0 at 2^16 (u = 16·2^F)
constexpr double kLog2e = 1.4426950408889634;
constexpr double kGeluSigmoid = 1.702;  // x·σ(1.702 x) ≈ GELU(x)

// kExp2Lut[r] = round(2^15 · 2^(−r/2^F)), r < 2^F.
const std::array<int32_t, kExpEntries>& exp2_lut() {
  static const std::array<int32_t, kExpEntries> lut = [] {
    std::array<int32_t, kExpEntries> t{};
    for (int r = 0; r < kExpEntries; ++r) t[static_cast<size_t>(r)] = static_cast<int32_t>(std::lround(32768.0 * std::exp2(-r / double(kExpEntries))));
    return t;
  }();
  return lut;
}
// kSigmoidLut[u] = round(2^15 / (1 + 2^(u/2^G))): σ(−|x|) in Q15 at |x|·1.702·log2 e = u/2^G.
const std::array<int32_t, kSigmoidEntries>& sigmoid_lut() {
  static const std::array<int32_t, kSigmoidEntries> lut = [] {
    std::array<int32_t, kSigmoidEntries> t{};
    for (int u = 0; u < kSigmoidEntries; ++u)
      t[static_cast<size_t>(u)] = static_cast<int32_t>(std::lround(32768.0 / (1.0 + std::exp2(u / double(kSigmoidSteps)))));
    return t;
  }();
  return lut;
}

int64_t inv_alpha_q8(float alpha) { return std::llround(256.0 / static_cast<double>(alpha)); }

// The per-row constants both paths share.
struct SoftmaxRow {
  Dyadic to_log2;
  int64_t ia;
};
SoftmaxRow softmax_row_constants(float m, float alpha) {
  return {to_dyadic(static_cast<double>(m) * kLog2e * kExpEntries), inv_alpha_q8(alpha)};
}

// One row, written for the vectoriser: int64 lanes, the table looked up by index.
BB_INLINE void softmax_row_body(const int32_t* __restrict acc, int64_t T, Dyadic d, int64_t ia, int Q,
                                uint8_t* __restrict codes, float* __restrict p, int32_t* __restrict e,
                                const int32_t* __restrict lut) {
  int32_t mx = acc[0];
  for (int64_t t = 1; t < T; ++t) mx = acc[t] > mx ? acc[t] : mx;
  const int64_t round = d.shift > 0 ? int64_t{1} << (d.shift - 1) : 0;
  int64_t sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t z = (static_cast<int64_t>(mx - acc[t]) * d.mult + round) >> d.shift;
    const int64_t q = z >> kExpFrac;
    const int32_t v = lut[z & (kExpEntries - 1)];
    e[t] = q > 15 ? 0 : v >> (q & 15);
    sum += e[t];
  }
  const int64_t G = (ia << 23) / sum;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t c = (static_cast<int64_t>(e[t]) * G + (int64_t{1} << 30)) >> 31;
    codes[t] = static_cast<uint8_t>(c > Q ? Q : c);
  }
  if (p) {
    const float inv = 1.0f / static_cast<float>(sum);
    for (int64_t t = 0; t < T; ++t) p[t] = static_cast<float>(e[t]) * inv;
  }
}
BB_MULTIVERSION(softmax_row,
                (const int32_t* acc, int64_t T, Dyadic d, int64_t ia, int Q, uint8_t* codes, float* p, int32_t* e,
                 const int32_t* lut),
                (acc, T, d, ia, Q, codes, p, e, lut))

// The GELU constants of a row whose input step is s.
Dyadic gelu_to_log2(float s) { return to_dyadic(kGeluSigmoid * kLog2e * static_cast<double>(s) * kSigmoidSteps); }

// g = c · σ(1.702 x) in Q15 for one row's codes, then requantised at Q.
BB_INLINE void gelu_row_body(const int8_t* __restrict c, int64_t K, Dyadic d, int Q, int32_t* __restrict g,
                             int8_t* __restrict out, int32_t* sum_out, int32_t* max_out, const int32_t* __restrict lut) {
  const int64_t round = d.shift > 0 ? int64_t{1} << (d.shift - 1) : 0;
  int32_t mx = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int32_t ck = c[k], a = ck < 0 ? -ck : ck;
    const int64_t u = (static_cast<int64_t>(a) * d.mult + round) >> d.shift;
    const int32_t neg = u < kSigmoidEntries ? lut[u < kSigmoidEntries ? u : 0] : 0;
    const int32_t v = ck * (ck >= 0 ? 32768 - neg : neg);
    g[k] = v;
    const int32_t av = v < 0 ? -v : v;
    mx = av > mx ? av : mx;
  }
  int32_t sum = 0;
  if (Q == 0) {  // no requantisation: the caller scales g
  } else if (mx == 0) {
    for (int64_t k = 0; k < K; ++k) out[k] = 0;
  } else {
    const int64_t R = (static_cast<int64_t>(Q) << 31) / mx;
    for (int64_t k = 0; k < K; ++k) {
      int64_t q = (static_cast<int64_t>(g[k]) * R + (int64_t{1} << 30)) >> 31;
      q = q > Q ? Q : q < -Q ? -Q : q;
      out[k] = static_cast<int8_t>(q);
      sum += static_cast<int32_t>(q);
    }
  }
  *sum_out = sum;
  *max_out = mx;
}
BB_MULTIVERSION(gelu_row,
                (const int8_t* c, int64_t K, Dyadic d, int Q, int32_t* g, int8_t* out, int32_t* sum_out,
                 int32_t* max_out, const int32_t* lut),
                (c, K, d, Q, g, out, sum_out, max_out, lut))

int gelu_out_qmax(ActFormat out) {  // 0: no requantisation (fp32 out)
  const ActFormatTraits& t = act_traits(out);
  if (t.no_zero)
    throw Error::usage(std::string("integer GELU: it requantises to a k-bit format or none (fp32), not ") + t.name);
  return t.bits >= 32 ? 0 : t.qmax;
}

float gelu_step(float s, int32_t mx, int Q) {
  return mx == 0 ? 0.0f : s * static_cast<float>(mx) / (static_cast<float>(Q) * 32768.0f);
}

}  // namespace

Dyadic to_dyadic(double m) {
  if (!(m > 0)) return {};
  int e = 0;
  const double f = std::frexp(m, &e);  // m = f · 2^e, f in [0.5, 1)
  int64_t mult = std::llround(f * 2147483648.0);
  int shift = 31 - e;
  if (mult == (int64_t{1} << 31)) {
    mult >>= 1;
    --shift;
  }
  if (shift < 0) return {(int64_t{1} << 31) - 1, 0};  // m ≥ 2^31: saturated
  if (shift > 62) {
    mult >>= (shift - 62);
    shift = 62;
  }
  return {mult, shift};
}

int32_t int_exp2_neg(int64_t z) {
  const int64_t q = z >> kExpFrac;
  return q > 15 ? 0 : exp2_lut()[static_cast<size_t>(z & (kExpEntries - 1))] >> (q & 15);
}

void int_softmax_row_reference(const int32_t* acc, int64_t T, float m, float alpha, int Q, uint8_t* codes, float* p) {
  const SoftmaxRow k = softmax_row_constants(m, alpha);
  int32_t mx = acc[0];
  for (int64_t t = 1; t < T; ++t) mx = std::max(mx, acc[t]);
  std::vector<int32_t> e(static_cast<size_t>(T));
  int64_t sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    e[static_cast<size_t>(t)] = int_exp2_neg(dyadic_apply(static_cast<int64_t>(mx) - acc[t], k.to_log2));
    sum += e[static_cast<size_t>(t)];
  }
  const int64_t G = (k.ia << 23) / sum;  // sum ≥ 2^15: the maximum's own term
  for (int64_t t = 0; t < T; ++t) {
    const int64_t c = (e[static_cast<size_t>(t)] * G + (int64_t{1} << 30)) >> 31;
    codes[t] = static_cast<uint8_t>(std::min<int64_t>(c, Q));
    if (p) p[t] = static_cast<float>(e[static_cast<size_t>(t)]) * (1.0f / static_cast<float>(sum));
  }
}

void int_softmax_row(const int32_t* acc, int64_t T, float m, float alpha, int Q, uint8_t* codes, float* p) {
  thread_local std::vector<int32_t> e;
  e.resize(static_cast<size_t>(T));
  const SoftmaxRow k = softmax_row_constants(m, alpha);
  softmax_row(acc, T, k.to_log2, k.ia, Q, codes, p, e.data(), exp2_lut().data());
}

void int_gelu_row_reference(const float* x, int64_t K, ActFormat out, int8_t* codes, float* step, int32_t* sum,
                            float* y) {
  const int Q = gelu_out_qmax(out);
  std::vector<int8_t> c(static_cast<size_t>(K));
  float s = 0;
  int32_t csum = 0;
  act_traits(ActFormat::kInt8).quantizer(ActScale::kAbsMax)(x, 1, K, K, c.data(), &s, &csum);
  const Dyadic d = gelu_to_log2(s);
  std::vector<int32_t> g(static_cast<size_t>(K));
  int32_t mx = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int32_t ck = c[static_cast<size_t>(k)];
    const int64_t u = dyadic_apply(std::abs(ck), d);
    const int32_t neg = u < kSigmoidEntries ? sigmoid_lut()[static_cast<size_t>(u)] : 0;
    g[static_cast<size_t>(k)] = ck * (ck >= 0 ? 32768 - neg : neg);
    mx = std::max(mx, std::abs(g[static_cast<size_t>(k)]));
  }
  if (Q == 0) {
    for (int64_t k = 0; k < K; ++k) y[k] = static_cast<float>(g[static_cast<size_t>(k)]) * (s / 32768.0f);
    return;
  }
  int32_t total = 0;
  for (int64_t k = 0; k < K; ++k) {
    int64_t q = 0;
    if (mx > 0) {
      const int64_t R = (static_cast<int64_t>(Q) << 31) / mx;
      q = std::clamp<int64_t>((g[static_cast<size_t>(k)] * R + (int64_t{1} << 30)) >> 31, -Q, Q);
    }
    codes[k] = static_cast<int8_t>(q);
    total += static_cast<int32_t>(q);
  }
  *step = gelu_step(s, mx, Q);
  *sum = total;
  if (y)
    for (int64_t k = 0; k < K; ++k) y[k] = static_cast<float>(codes[k]) * *step;
}

void int_gelu_rows(const float* x, int64_t M, int64_t K, ActFormat out, int64_t ld, int8_t* codes, float* step,
                   int32_t* sum, float* y) {
  const int Q = gelu_out_qmax(out);
  const ActQuantizeFn quantize = act_traits(ActFormat::kInt8).quantizer(ActScale::kAbsMax);
  const int32_t* lut = sigmoid_lut().data();
  constexpr int64_t kRows = 8;
  parallel_tasks((M + kRows - 1) / kRows, M * K >= (1 << 15), [&](int64_t chunk) {
    thread_local std::vector<int8_t> c;
    thread_local std::vector<int32_t> g;
    c.resize(static_cast<size_t>(K));
    g.resize(static_cast<size_t>(K));
    for (int64_t m = chunk * kRows; m < std::min(M, (chunk + 1) * kRows); ++m) {
      float s = 0;
      int32_t csum = 0, mx = 0;
      quantize(x + m * K, 1, K, K, c.data(), &s, &csum);
      if (Q == 0) {  // fp32 out: y = g · s / 2^15
        int32_t unused = 0;
        gelu_row(c.data(), K, gelu_to_log2(s), 0, g.data(), nullptr, &unused, &mx, lut);
        for (int64_t k = 0; k < K; ++k) y[m * K + k] = static_cast<float>(g[static_cast<size_t>(k)]) * (s / 32768.0f);
        continue;
      }
      int8_t* row = codes + m * ld;
      gelu_row(c.data(), K, gelu_to_log2(s), Q, g.data(), row, &sum[m], &mx, lut);
      for (int64_t k = K; k < ld; ++k) row[k] = 0;
      step[m] = gelu_step(s, mx, Q);
      if (y)
        for (int64_t k = 0; k < K; ++k) y[m * K + k] = static_cast<float>(row[k]) * step[m];
    }
  });
}

float sigmoid_gelu(float x) { return x / (1.0f + std::exp(static_cast<float>(-kGeluSigmoid) * x)); }
float sigmoid_gelu_grad(float x) {
  const float s = 1.0f / (1.0f + std::exp(static_cast<float>(-kGeluSigmoid) * x));
  return s + static_cast<float>(kGeluSigmoid) * x * s * (1.0f - s);
}

void sigmoid_gelu_backward(const float* x, const float* dout, float* dx, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) dx[i] = dout[i] * sigmoid_gelu_grad(x[i]);
}

ActFormat int_gelu_out_format(ActFormat next, bool subln) {
  const ActFormatTraits& t = act_traits(next);
  return subln || t.bits >= 32 || t.no_zero ? ActFormat::kF32 : next;
}

}  // namespace bb
