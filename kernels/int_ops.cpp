// The integer softmax and GELU (int_ops.hpp). Each has a plain-loop reference
// and a body compiled per ISA (simd.hpp); both are integer arithmetic on the
// same constants, so they agree bit for bit, which the tests check on every path.
#include "kernels/int_ops.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/simd.hpp"
#include "kernels/parallel.hpp"

namespace bb {
namespace {

constexpr int kExpEntries = 1 << kExpFrac;
constexpr int kSigmoidSteps = 1 << kSigmoidFrac;
constexpr int kSigmoidEntries = 17 << kSigmoidFrac;  // σ(−|x|)·2^15 rounds to 0 from u = 16·2^G + 1 on; the last entry is 0
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

// The per-row constants both paths share (int_ops.hpp gives the formulas).
struct SoftmaxRow {
  int32_t M;     // round(m · log2 e · 2^F · 2^19), at most 2^26
  int32_t dmax;  // max − acc is clamped here: (dmax · M + 2^18) fits in int32 and still gives q ≥ 15
  uint32_t G16;  // ⌊IA · 2^23 / Σe⌋ to 16 bits ...
  int S;         // ... and its shift: cp = (e · G16 + 2^(S−1)) >> S
};
SoftmaxRow softmax_row_constants(float m) {
  const double v = std::min(static_cast<double>(m) * kLog2e * kExpEntries * double(1 << kScoreShift), double(1 << 26));
  SoftmaxRow k{};
  k.M = v > 0 ? static_cast<int32_t>(std::llround(v)) : 0;
  k.dmax = k.M > 0 ? static_cast<int32_t>((int64_t{1} << 31) - (int64_t{1} << (kScoreShift - 1)) - 1) / k.M
                   : std::numeric_limits<int32_t>::max();
  return k;
}
int64_t inv_alpha_q8(float alpha) { return std::llround(256.0 / static_cast<double>(alpha)); }
BB_INLINE void softmax_row_scale(SoftmaxRow& k, int64_t ia, int64_t sum) {
  const int64_t G = (ia << 23) / sum;  // sum ≥ 2^15: the maximum's own term
  int shift = 0;
  while ((G >> shift) >= (int64_t{1} << 16)) ++shift;
  k.G16 = static_cast<uint32_t>(G >> shift);
  k.S = 31 - shift;
}
BB_INLINE int32_t exp_of_gap(int32_t d, const SoftmaxRow& k, const int32_t* lut) {
  const int32_t dc = d < k.dmax ? d : k.dmax;
  const int32_t z = (dc * k.M + (1 << (kScoreShift - 1))) >> kScoreShift;
  const int32_t q = z >> kExpFrac;
  return q >= 15 ? 0 : lut[z & (kExpEntries - 1)] >> q;
}

// One row in int32 lanes (the table looked up by index: a gather).
BB_INLINE void softmax_exp_body(const int32_t* __restrict acc, int64_t T, SoftmaxRow k, int32_t* __restrict e,
                                int32_t* sum_out, const int32_t* __restrict lut) {
  int32_t mx = acc[0];
  for (int64_t t = 1; t < T; ++t) mx = acc[t] > mx ? acc[t] : mx;
  int32_t sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    e[t] = exp_of_gap(mx - acc[t], k, lut);
    sum += e[t];
  }
  *sum_out = sum;
}
BB_MULTIVERSION(softmax_exp, (const int32_t* acc, int64_t T, SoftmaxRow k, int32_t* e, int32_t* sum_out, const int32_t* lut),
                (acc, T, k, e, sum_out, lut))
BB_INLINE void softmax_codes_body(const int32_t* __restrict e, int64_t T, SoftmaxRow k, int Q, uint8_t* __restrict codes) {
  const uint32_t round = 1u << (k.S - 1);
  for (int64_t t = 0; t < T; ++t) {
    const uint32_t c = (static_cast<uint32_t>(e[t]) * k.G16 + round) >> k.S;
    codes[t] = static_cast<uint8_t>(c > static_cast<uint32_t>(Q) ? static_cast<uint32_t>(Q) : c);
  }
}
BB_MULTIVERSION(softmax_codes, (const int32_t* e, int64_t T, SoftmaxRow k, int Q, uint8_t* codes), (e, T, k, Q, codes))

// A head's rows in one call (one dispatch, the per-row constants in a tight loop).
BB_INLINE void softmax_rows_body(const int32_t* __restrict acc, int64_t rows, int64_t T, int64_t lda,
                                 SoftmaxRow* __restrict k, int64_t ia, int Q, uint8_t* __restrict codes, int64_t ldc,
                                 int32_t* __restrict e, const int32_t* __restrict lut) {
  for (int64_t i = 0; i < rows; ++i) {
    int32_t sum = 0;
    softmax_exp_body(acc + i * lda, T, k[i], e, &sum, lut);
    softmax_row_scale(k[i], ia, sum);
    softmax_codes_body(e, T, k[i], Q, codes + i * ldc);
  }
}
BB_MULTIVERSION(softmax_rows,
                (const int32_t* acc, int64_t rows, int64_t T, int64_t lda, SoftmaxRow* k, int64_t ia, int Q,
                 uint8_t* codes, int64_t ldc, int32_t* e, const int32_t* lut),
                (acc, rows, T, lda, k, ia, Q, codes, ldc, e, lut))

// The GELU's per-row constant: u = (|c| · Mg + 2^(Sg−1)) >> Sg ≈ |c| · 1.702 · log2 e · s · 2^G.
struct GeluRow {
  int32_t Mg;  // in [2^21, 2^22) unless saturated
  int Sg;      // 0 … 30
};
GeluRow gelu_row_constants(float s) {
  const double m = kGeluSigmoid * kLog2e * static_cast<double>(s) * kSigmoidSteps;
  if (!(m > 0)) return {0, 0};
  int ex = 0;
  const double f = std::frexp(m, &ex);  // m = f · 2^ex, f in [0.5, 1)
  int64_t M = std::llround(f * double(1 << 22));
  int S = 22 - ex;
  if (S < 0) return {1 << 22, 0};  // every nonzero code lands past the table's end
  if (S > 30) {
    M >>= (S - 30);
    S = 30;
  }
  return {static_cast<int32_t>(M), S};
}

// g = c · σ(1.702 x) in Q15 for one row's codes (int32 lanes, the table gathered).
BB_INLINE void gelu_row_body(const int8_t* __restrict c, int64_t K, GeluRow k, int32_t* __restrict g,
                             int32_t* max_out, const int32_t* __restrict lut) {
  const int32_t round = k.Sg > 0 ? 1 << (k.Sg - 1) : 0;
  int32_t mx = 0;
  for (int64_t i = 0; i < K; ++i) {
    const int32_t ck = c[i], a = ck < 0 ? -ck : ck;
    int32_t u = (a * k.Mg + round) >> k.Sg;
    u = u < kSigmoidEntries - 1 ? u : kSigmoidEntries - 1;
    const int32_t neg = lut[u];
    const int32_t v = ck * (ck >= 0 ? 32768 - neg : neg);
    g[i] = v;
    const int32_t av = v < 0 ? -v : v;
    mx = av > mx ? av : mx;
  }
  *max_out = mx;
}
BB_MULTIVERSION(gelu_row, (const int8_t* c, int64_t K, GeluRow k, int32_t* g, int32_t* max_out, const int32_t* lut),
                (c, K, k, g, max_out, lut))

// g's row requantised at Q (absmax, in integers): codes, Σ codes.
BB_INLINE void requant_row_body(const int32_t* __restrict g, int64_t K, int32_t mx, int Q, int8_t* __restrict out,
                                int32_t* sum_out) {
  int32_t sum = 0;
  if (mx == 0) {
    for (int64_t i = 0; i < K; ++i) out[i] = 0;
  } else {
    const int64_t R = (static_cast<int64_t>(Q) << 31) / mx;
    for (int64_t i = 0; i < K; ++i) {
      int64_t q = (static_cast<int64_t>(g[i]) * R + (int64_t{1} << 30)) >> 31;
      q = q > Q ? Q : q < -Q ? -Q : q;
      out[i] = static_cast<int8_t>(q);
      sum += static_cast<int32_t>(q);
    }
  }
  *sum_out = sum;
}
BB_MULTIVERSION(requant_row, (const int32_t* g, int64_t K, int32_t mx, int Q, int8_t* out, int32_t* sum_out),
                (g, K, mx, Q, out, sum_out))

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

int32_t int_exp2_neg(int64_t z) {
  const int64_t q = z >> kExpFrac;
  return q >= 15 ? 0 : exp2_lut()[static_cast<size_t>(z & (kExpEntries - 1))] >> q;
}

void int_softmax_row_reference(const int32_t* acc, int64_t T, float m, float alpha, int Q, uint8_t* codes, float* p) {
  SoftmaxRow k = softmax_row_constants(m);
  int32_t mx = acc[0];
  for (int64_t t = 1; t < T; ++t) mx = std::max(mx, acc[t]);
  std::vector<int64_t> e(static_cast<size_t>(T));
  int64_t sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t d = std::min<int64_t>(static_cast<int64_t>(mx) - acc[t], k.dmax);
    e[static_cast<size_t>(t)] = int_exp2_neg((d * k.M + (int64_t{1} << (kScoreShift - 1))) >> kScoreShift);
    sum += e[static_cast<size_t>(t)];
  }
  softmax_row_scale(k, inv_alpha_q8(alpha), sum);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t c = (e[static_cast<size_t>(t)] * k.G16 + (int64_t{1} << (k.S - 1))) >> k.S;
    codes[t] = static_cast<uint8_t>(std::min<int64_t>(c, Q));
    if (p) p[t] = static_cast<float>(e[static_cast<size_t>(t)]) * (1.0f / static_cast<float>(sum));
  }
}

void int_softmax_row(const int32_t* acc, int64_t T, float m, float alpha, int Q, uint8_t* codes, float* p) {
  thread_local std::vector<int32_t> e;
  e.resize(static_cast<size_t>(T));
  SoftmaxRow k = softmax_row_constants(m);
  int32_t sum = 0;
  softmax_exp(acc, T, k, e.data(), &sum, exp2_lut().data());
  softmax_row_scale(k, inv_alpha_q8(alpha), sum);
  softmax_codes(e.data(), T, k, Q, codes);
  if (p) {
    const float inv = 1.0f / static_cast<float>(sum);
    for (int64_t t = 0; t < T; ++t) p[t] = static_cast<float>(e[static_cast<size_t>(t)]) * inv;
  }
}

void int_softmax_rows(const int32_t* acc, int64_t rows, int64_t T, int64_t lda, const float* m, float alpha, int Q,
                      uint8_t* codes, int64_t ldc) {
  thread_local std::vector<int32_t> e;
  thread_local std::vector<SoftmaxRow> k;
  e.resize(static_cast<size_t>(T));
  k.resize(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) k[static_cast<size_t>(i)] = softmax_row_constants(m[i]);
  softmax_rows(acc, rows, T, lda, k.data(), inv_alpha_q8(alpha), Q, codes, ldc, e.data(), exp2_lut().data());
}

void int_gelu_row_reference(const float* x, int64_t K, ActFormat out, int8_t* codes, float* step, int32_t* sum,
                            float* y) {
  const int Q = gelu_out_qmax(out);
  std::vector<int8_t> c(static_cast<size_t>(K));
  float s = 0;
  int32_t csum = 0;
  act_traits(ActFormat::kInt8).quantizer(ActScale::kAbsMax)(x, 1, K, K, c.data(), &s, &csum);
  const GeluRow r = gelu_row_constants(s);
  std::vector<int64_t> g(static_cast<size_t>(K));
  int64_t mx = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t ck = c[static_cast<size_t>(k)];
    const int64_t u = (std::abs(ck) * r.Mg + (r.Sg > 0 ? int64_t{1} << (r.Sg - 1) : 0)) >> r.Sg;
    const int64_t neg = sigmoid_lut()[static_cast<size_t>(std::min<int64_t>(u, kSigmoidEntries - 1))];
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
  *step = gelu_step(s, static_cast<int32_t>(mx), Q);
  *sum = total;
  if (y)
    for (int64_t k = 0; k < K; ++k) y[k] = static_cast<float>(codes[k]) * *step;
}

void int_gelu_rows(const float* x, int64_t M, int64_t K, ActFormat out, int64_t ld, int8_t* codes, float* step,
                   int32_t* sum, float* y) {
  const int Q = gelu_out_qmax(out);
  const ActQuantizeFn quantize = act_traits(ActFormat::kInt8).quantizer(ActScale::kAbsMax);
  const int32_t* lut = sigmoid_lut().data();
  constexpr int64_t kRows = 16;  // the quantiser's group: its rows' steps come from one vector division
  parallel_tasks((M + kRows - 1) / kRows, M * K >= (1 << 15), [&](int64_t chunk) {
    thread_local std::vector<int8_t> c;
    thread_local std::vector<int32_t> g, csum;
    thread_local std::vector<float> s;
    const int64_t m0 = chunk * kRows, rows = std::min(kRows, M - m0);
    c.resize(static_cast<size_t>(rows * K));
    g.resize(static_cast<size_t>(K));
    s.resize(static_cast<size_t>(rows));
    csum.resize(static_cast<size_t>(rows));
    quantize(x + m0 * K, rows, K, K, c.data(), s.data(), csum.data());  // codes [rows, K]: each row as alone
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t m = m0 + r;
      const float sr = s[static_cast<size_t>(r)];
      int32_t mx = 0;
      gelu_row(c.data() + r * K, K, gelu_row_constants(sr), g.data(), &mx, lut);
      if (Q == 0) {  // fp32 out: y = g · s / 2^15
        const float f = sr / 32768.0f;
        for (int64_t k = 0; k < K; ++k) y[m * K + k] = static_cast<float>(g[static_cast<size_t>(k)]) * f;
        continue;
      }
      int8_t* row = codes + m * ld;
      requant_row(g.data(), K, mx, Q, row, &sum[m]);
      for (int64_t k = K; k < ld; ++k) row[k] = 0;
      step[m] = gelu_step(sr, mx, Q);
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
