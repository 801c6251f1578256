// The integer LayerNorm (int_layernorm.hpp): a plain-loop reference and one
// body of integer loops compiled per ISA (simd.hpp). Both are integer
// arithmetic on the same constants, so every path gives the same codes.
#include "kernels/int_layernorm.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/simd.hpp"
#include "kernels/parallel.hpp"

namespace bb {
namespace {

constexpr int kRowBits = 14;        // a row enters norm() with |c| ≤ 2^14
constexpr int kRecipShift = 32;     // n = (d · r + 2^31) >> 32 with r = ⌊2^(32 + 10) / σ⌋
constexpr int kOutBits = 30;        // the un-normalised output v is cut to |v| ≤ 2^30
constexpr int kMinExponent = -100;  // rows with max|x| below 2^−100 count as zero

// ⌊log2 v⌋ of a finite v > 0 (a power-of-two scale's exponent).
int floor_log2(double v) {
  int e = 0;
  std::frexp(v, &e);
  return e - 1;
}

// Round-shift an integer right by k ≥ 1 (half up), or left by −k.
int64_t shift_round(int64_t v, int k) {
  if (k <= 0) return v * (int64_t{1} << -k);
  return (v + (int64_t{1} << (k - 1))) >> k;
}

// ⌊√v⌋ for v < 2^63 as the fast path takes it: a double's correctly rounded
// root as the guess, then corrected in integers to the exact floor (the same
// value as isqrt_u64's Newton iteration, which needs up to six divisions).
uint64_t isqrt_guessed(uint64_t v) {
  uint64_t s = static_cast<uint64_t>(std::sqrt(static_cast<double>(v)));
  while (s * s > v) --s;
  while ((s + 1) * (s + 1) <= v) ++s;
  return s;
}

// The per-row reciprocal of norm(): ⌊2^42 / σ⌋, 0 when σ is 0, from
// ⌊V / D⌋ (the fast body has it as D·Σc² − S², which V / D is exactly).
template <uint64_t (*Isqrt)(uint64_t)>
int64_t norm_recip(uint64_t V_over_D) {
  const uint64_t sigma = Isqrt(V_over_D);
  return sigma == 0 ? 0 : static_cast<int64_t>((uint64_t{1} << (kRecipShift + kIntLnFrac)) / sigma);
}

// ---- the reference: scalar loops, int64 throughout ----

void norm_reference(const int64_t* c, int64_t D, int64_t* n) {
  int64_t S = 0;
  for (int64_t i = 0; i < D; ++i) S += c[i];
  uint64_t V = 0;
  for (int64_t i = 0; i < D; ++i) {
    const int64_t d = D * c[i] - S;
    V += static_cast<uint64_t>(d * d);
  }
  const int64_t r = norm_recip<isqrt_u64>(V / static_cast<uint64_t>(D));
  for (int64_t i = 0; i < D; ++i) n[i] = ((D * c[i] - S) * r + (int64_t{1} << 31)) >> kRecipShift;
}

// ---- the fast body: the same steps as vectorisable loops ----

// norm() on c [D] (|c| ≤ 2^14) whose S = Σc and SS = Σc² the caller summed
// in the pass that wrote c: V / D = D·SS − S² exactly, so no pass over d²
// and no division for it. → n [D] (d fits int32: D ≤ 2048); returns max|n|.
BB_INLINE int32_t norm_body(const int32_t* c, int64_t D, int64_t S, int64_t SS, int32_t* n) {
  const int32_t Dc = static_cast<int32_t>(D), S32 = static_cast<int32_t>(S);
  const int64_t r = norm_recip<isqrt_guessed>(static_cast<uint64_t>(D * SS - S * S));
  int32_t mx = 0;
  for (int64_t i = 0; i < D; ++i) {
    const int32_t v =
        static_cast<int32_t>((static_cast<int64_t>(Dc * c[i] - S32) * r + (int64_t{1} << 31)) >> kRecipShift);
    n[i] = v;
    mx = std::max(mx, v < 0 ? -v : v);
  }
  return mx;
}

// 2^e as a float for −126 ≤ e ≤ 127 (no libm call).
BB_INLINE float pow2f(int e) {
  const uint32_t bits = static_cast<uint32_t>(e + 127) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

BB_INLINE void zero_row(int64_t D, int8_t* codes, float* step, int32_t* sum) {
  std::memset(codes, 0, static_cast<size_t>(D));
  *step = 0.0f;
  *sum = 0;
}

// One row: x [D] → codes [D], step, sum. Scratch: c, n [D] int32, y [D] int64.
BB_INLINE void int_ln_row_body(const float* x, int64_t D, const int32_t* g, const int64_t* b, int G, bool subln,
                               int Q, int32_t* c, int32_t* n, int64_t* y, int8_t* codes, float* step, int32_t* sum) {
  // max|x| on the bit patterns: for finite floats their order is the values' order.
  uint32_t mbits = 0;
  for (int64_t i = 0; i < D; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    mbits = std::max(mbits, u & 0x7fffffffu);
  }
  const int E = static_cast<int>(mbits >> 23) - 127;  // ⌊log2 max|x|⌋ for a normal float
  if (mbits >= 0x7f800000u) return zero_row(D, codes, step, sum);
  // A zero row, or one below 2^−100, reads as c = 0: it normalises to 0, as the float LayerNorm's does (y = β).
  const float sc = E < kMinExponent ? 0.0f : pow2f(kRowBits - 1 - E);  // E ≥ −100: 2^(13 − E) ≤ 2^113
  constexpr float kMagic = 12582912.0f;  // 1.5 · 2^23: adding it rounds half to even (|v| < 2^22)
  int64_t S = 0, SS = 0;
  for (int64_t i = 0; i < D; ++i) {
    const int32_t v = static_cast<int32_t>((x[i] * sc + kMagic) - kMagic);
    c[i] = v;
    S += v;
    SS += static_cast<int64_t>(v) * v;
  }
  // norm(c) and the affine step in one pass: y = n · γq + βq.
  const int32_t Dc = static_cast<int32_t>(D), S32 = static_cast<int32_t>(S);
  const int64_t r = norm_recip<isqrt_guessed>(static_cast<uint64_t>(D * SS - S * S));
  uint64_t my = 0;
  for (int64_t i = 0; i < D; ++i) {
    const int64_t nv = (static_cast<int64_t>(Dc * c[i] - S32) * r + (int64_t{1} << 31)) >> kRecipShift;
    const int64_t v = nv * g[i] + b[i];
    y[i] = v;
    my = std::max(my, static_cast<uint64_t>(v < 0 ? -v : v));
  }
  if (my == 0) return zero_row(D, codes, step, sum);
  const int bw = std::bit_width(my);
  int unit;  // v's value is v · 2^unit (in LayerNorm's output units, or SubLN's)
  int32_t mv = 0;
  if (subln) {
    const int k = bw - kRowBits;
    S = SS = 0;
    for (int64_t i = 0; i < D; ++i) {
      const int32_t v = static_cast<int32_t>(shift_round(y[i], k));
      c[i] = v;
      S += v;
      SS += static_cast<int64_t>(v) * v;
    }
    mv = norm_body(c, D, S, SS, n);
    unit = -kIntLnFrac;
  } else {
    const int k = std::max(0, bw - kOutBits);
    for (int64_t i = 0; i < D; ++i) {
      const int32_t v = static_cast<int32_t>(shift_round(y[i], k));
      n[i] = v;
      mv = std::max(mv, v < 0 ? -v : v);
    }
    unit = k - kIntLnFrac - G;
  }
  if (mv == 0) return zero_row(D, codes, step, sum);
  const int64_t R = (static_cast<int64_t>(Q) << 31) / mv;
  int32_t s = 0;
  for (int64_t i = 0; i < D; ++i) {
    const int64_t q = std::clamp<int64_t>((static_cast<int64_t>(n[i]) * R + (int64_t{1} << 30)) >> 31, -Q, Q);
    codes[i] = static_cast<int8_t>(q);
    s += static_cast<int32_t>(q);
  }
  *sum = s;
  *step = static_cast<float>(mv) / static_cast<float>(Q) * pow2f(unit);  // unit in [−50, 106]: as ldexp, one rounding
}

BB_MULTIVERSION(int_ln_row,
                (const float* x, int64_t D, const int32_t* g, const int64_t* b, int G, bool subln, int Q, int32_t* c,
                 int32_t* n, int64_t* y, int8_t* codes, float* step, int32_t* sum),
                (x, D, g, b, G, subln, Q, c, n, y, codes, step, sum))

int kbit_qmax(ActFormat format, const char* who) {
  const ActFormatTraits& t = act_traits(format);
  if (t.bits > 8 || t.no_zero || t.qmax <= 0)
    throw Error::usage(std::string(who) + ": needs a k-bit activation format (A8, A4, A2), not " + t.name);
  return t.qmax;
}

void check_width(int64_t D, const char* who) {
  if (D < 1 || D > kIntLnMaxD)
    throw Error::usage(std::string(who) + ": a row of " + std::to_string(D) + " values; the integer LayerNorm holds 1 to " +
                       std::to_string(kIntLnMaxD) + " (its Σd² in 64 bits)");
}

}  // namespace

uint64_t isqrt_u64(uint64_t v) {
  if (v < 2) return v;
  // Newton from above: x₀ = 2^⌈bits/2⌉ ≥ √v, x ← (x + v/x)/2 while it falls.
  uint64_t x = uint64_t{1} << ((std::bit_width(v) + 1) / 2);
  for (;;) {
    const uint64_t nx = (x + v / x) / 2;
    if (nx >= x) return x;
    x = nx;
  }
}

IntLnAffine int_ln_affine(const float* gamma, const float* beta, int64_t D) {
  double mg = 0, mb = 0;
  for (int64_t i = 0; i < D; ++i) {
    if (!std::isfinite(gamma[i]) || !std::isfinite(beta[i]))
      throw Error::usage("integer LayerNorm: a weight or bias of the LayerNorm is not finite (entry " + std::to_string(i) + ")");
    mg = std::max(mg, std::fabs(double(gamma[i])));
    mb = std::max(mb, std::fabs(double(beta[i])));
  }
  // |γq| ≤ 2^15 and |βq| ≤ 2^50, so y = n · γq + βq stays far inside int64.
  int G = 40;
  if (mg > 0) G = std::min(G, 14 - floor_log2(mg));
  if (mb > 0) G = std::min(G, 39 - floor_log2(mb));
  IntLnAffine a;
  a.G = G;
  a.gamma.resize(static_cast<size_t>(D));
  a.beta.resize(static_cast<size_t>(D));
  for (int64_t i = 0; i < D; ++i) {
    a.gamma[static_cast<size_t>(i)] = static_cast<int32_t>(std::nearbyint(std::ldexp(double(gamma[i]), G)));
    a.beta[static_cast<size_t>(i)] = static_cast<int64_t>(std::nearbyint(std::ldexp(double(beta[i]), kIntLnFrac + G)));
  }
  return a;
}

void int_layernorm_row_reference(const float* x, const IntLnAffine& a, int64_t D, bool subln, int Q, int8_t* codes,
                                 float* step, int32_t* sum) {
  check_width(D, "int_layernorm_row_reference");
  std::fill(codes, codes + D, int8_t{0});
  *step = 0.0f;
  *sum = 0;
  double m = 0;
  for (int64_t i = 0; i < D; ++i) {
    if (!std::isfinite(x[i])) return;
    m = std::max(m, std::fabs(double(x[i])));
  }
  std::vector<int64_t> c(static_cast<size_t>(D), 0), n(static_cast<size_t>(D)), y(static_cast<size_t>(D));
  if (m > 0 && std::ilogb(m) >= kMinExponent) {  // else c = 0: the row normalises to 0 (y = β)
    const int E = std::ilogb(m);
    for (int64_t i = 0; i < D; ++i)
      c[static_cast<size_t>(i)] = static_cast<int64_t>(std::nearbyint(std::ldexp(double(x[i]), kRowBits - 1 - E)));
  }
  norm_reference(c.data(), D, n.data());
  uint64_t my = 0;
  for (int64_t i = 0; i < D; ++i) {
    y[static_cast<size_t>(i)] = n[static_cast<size_t>(i)] * a.gamma[static_cast<size_t>(i)] + a.beta[static_cast<size_t>(i)];
    my = std::max<uint64_t>(my, static_cast<uint64_t>(std::llabs(y[static_cast<size_t>(i)])));
  }
  if (my == 0) return;
  const int bw = std::bit_width(my);
  int unit;
  if (subln) {
    for (int64_t i = 0; i < D; ++i) c[static_cast<size_t>(i)] = shift_round(y[static_cast<size_t>(i)], bw - kRowBits);
    norm_reference(c.data(), D, n.data());
    unit = -kIntLnFrac;
  } else {
    const int k = std::max(0, bw - kOutBits);
    for (int64_t i = 0; i < D; ++i) n[static_cast<size_t>(i)] = shift_round(y[static_cast<size_t>(i)], k);
    unit = k - kIntLnFrac - a.G;
  }
  int64_t mv = 0;
  for (int64_t i = 0; i < D; ++i) mv = std::max<int64_t>(mv, std::llabs(n[static_cast<size_t>(i)]));
  if (mv == 0) return;
  const int64_t R = (int64_t{Q} << 31) / mv;
  for (int64_t i = 0; i < D; ++i) {
    const int64_t q = std::clamp<int64_t>((n[static_cast<size_t>(i)] * R + (int64_t{1} << 30)) >> 31, -Q, Q);
    codes[i] = static_cast<int8_t>(q);
    *sum += static_cast<int32_t>(q);
  }
  *step = std::ldexp(static_cast<float>(mv) / static_cast<float>(Q), unit);
}

void int_layernorm_acts(const float* x, const float* gamma, const float* beta, int64_t M, int64_t D, bool subln,
                        ActFormat format, BitActs& acts, float* xq) {
  const int Q = kbit_qmax(format, "int_layernorm_acts");
  check_width(D, "int_layernorm_acts");
  const IntLnAffine a = int_ln_affine(gamma, beta, D);
  int8_t* q = acts.reshape(M, D, format);
  constexpr int64_t kRows = 16;
  parallel_tasks((M + kRows - 1) / kRows, parallel_pays(M * D), [&](int64_t t) {
    thread_local std::vector<int32_t> c, n;
    thread_local std::vector<int64_t> y;
    c.resize(static_cast<size_t>(D));
    n.resize(static_cast<size_t>(D));
    y.resize(static_cast<size_t>(D));
    for (int64_t m = t * kRows; m < std::min(M, (t + 1) * kRows); ++m) {
      int8_t* row = q + m * acts.Kp;
      float& step = acts.mul[static_cast<size_t>(m)];
      int_ln_row(x + m * D, D, a.gamma.data(), a.beta.data(), a.G, subln, Q, c.data(), n.data(), y.data(), row, &step,
                 &acts.sum[static_cast<size_t>(m)]);
      std::memset(row + D, 0, static_cast<size_t>(acts.Kp - D));
      if (xq)
        for (int64_t k = 0; k < D; ++k) xq[m * D + k] = static_cast<float>(row[k]) * step;
    }
  });
}

}  // namespace bb
