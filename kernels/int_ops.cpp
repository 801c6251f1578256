// The integer softmax and GELU (int_ops.hpp). Each has a plain-loop reference
// and fast paths in AVX-512 and AVX2 intrinsics (the requantiser: a body
// compiled per ISA, simd.hpp); all are integer arithmetic on the same
// constants, so they agree bit for bit, which the tests check on every path.
#include "kernels/int_ops.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/simd.hpp"
#include "kernels/intrinsics_warnings.hpp"
#include "kernels/parallel.hpp"

namespace bb {
namespace {

constexpr int kExpEntries = 1 << kExpFrac;
constexpr int kSigmoidSteps = 1 << kSigmoidFrac;
constexpr int kSigmoidEntries = 17 << kSigmoidFrac;  // σ(−|x|)·2^15 rounds to 0 from u = 16·2^G + 1 on; the last entry is 0
constexpr double kLog2e = 1.4426950408889634;
constexpr double kGeluSigmoid = 1.702;  // x·σ(1.702 x) ≈ GELU(x)

// 2^(−r/2^F) in Q15 for r < 2^F as two 16-entry tables multiplied, r = 16a + b:
//   hi[a] = round(2^15 · 2^(−a/16)), lo[b] = round(2^15 · 2^(−b/256)),
//   lut[r] = (hi[a] · lo[b] + 2^14) >> 15
// so the AVX-512 path holds both tables in registers (vpermd) where a
// 256-entry table would need a gather (which cost half the softmax).
static_assert(kExpFrac == 8, "the exp2 table is split as 16 × 16 entries");
struct Exp2Tables {
  std::array<int32_t, 16> hi, lo;
  std::array<int32_t, kExpEntries> lut;
};
const Exp2Tables& exp2_tables() {
  static const Exp2Tables t = [] {
    Exp2Tables x{};
    for (int i = 0; i < 16; ++i) {
      x.hi[static_cast<size_t>(i)] = static_cast<int32_t>(std::lround(32768.0 * std::exp2(-i / 16.0)));
      x.lo[static_cast<size_t>(i)] = static_cast<int32_t>(std::lround(32768.0 * std::exp2(-i / double(kExpEntries))));
    }
    for (int r = 0; r < kExpEntries; ++r)
      x.lut[static_cast<size_t>(r)] = (x.hi[static_cast<size_t>(r >> 4)] * x.lo[static_cast<size_t>(r & 15)] + (1 << 14)) >> 15;
    return x;
  }();
  return t;
}
const std::array<int32_t, kExpEntries>& exp2_lut() { return exp2_tables().lut; }
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
  if (v > 0) {  // llround for v > 0 without its libm call (a cast truncates: exact)
    const int64_t i = static_cast<int64_t>(v);
    k.M = static_cast<int32_t>(i + (v - static_cast<double>(i) >= 0.5 ? 1 : 0));
  }
  k.dmax = k.M > 0 ? static_cast<int32_t>((int64_t{1} << 31) - (int64_t{1} << (kScoreShift - 1)) - 1) / k.M
                   : std::numeric_limits<int32_t>::max();
  return k;
}
int64_t inv_alpha_q8(float alpha) {
  if (!(alpha > 0)) throw Error::usage("integer softmax: the probability step must be > 0, got " + std::to_string(alpha));
  return std::llround(256.0 / static_cast<double>(alpha));
}
BB_INLINE void softmax_row_scale(SoftmaxRow& k, int64_t ia, int64_t sum) {
  const int64_t G = (ia << 23) / sum;  // sum ≥ 2^15: the maximum's own term
  const int shift = std::max(0, static_cast<int>(std::bit_width(static_cast<uint64_t>(G))) - 16);
  k.G16 = static_cast<uint32_t>(G >> shift);
  k.S = 31 - shift;
}
// d = max − acc as unsigned 32 bits: exact for any int32 scores (a signed
// difference wraps once a row spans more than 2^31).
BB_INLINE int32_t exp_of_gap(uint32_t d, const SoftmaxRow& k, const int32_t* lut) {
  const int32_t dc = static_cast<int32_t>(d < static_cast<uint32_t>(k.dmax) ? d : static_cast<uint32_t>(k.dmax));
  const int32_t z = (dc * k.M + (1 << (kScoreShift - 1))) >> kScoreShift;
  const int32_t q = z >> kExpFrac;
  return q >= 15 ? 0 : lut[z & (kExpEntries - 1)] >> q;
}

// A head's rows (or one row): acc [rows, lda] → codes [rows, ldc], with e [T]
// a row's scratch (the last row's e on return) and, when non-null, Σe per row.
struct SoftmaxArgs {
  const int32_t* acc;
  int64_t rows, T, lda;
  SoftmaxRow* k;  // [rows]: M and dmax in; G16 and S set here
  int64_t ia;
  int Q;
  uint8_t* codes;
  int64_t ldc;
  int32_t* e;
  int32_t* sums;
  const int32_t* lut;
};

// A probability code from e (cp in int_ops.hpp); round = 2^(S−1).
BB_INLINE uint8_t prob_code(int32_t e, const SoftmaxRow& k, uint32_t round, int Q) {
  const uint32_t c = (static_cast<uint32_t>(e) * k.G16 + round) >> k.S;
  return static_cast<uint8_t>(c > static_cast<uint32_t>(Q) ? static_cast<uint32_t>(Q) : c);
}

void softmax_rows_generic(const SoftmaxArgs& a) {
  for (int64_t i = 0; i < a.rows; ++i) {
    const int32_t* acc = a.acc + i * a.lda;
    int32_t* e = a.e;
    SoftmaxRow& k = a.k[i];
    int32_t mx = acc[0], sum = 0;
    for (int64_t t = 1; t < a.T; ++t) mx = acc[t] > mx ? acc[t] : mx;
    for (int64_t t = 0; t < a.T; ++t) sum += e[t] = exp_of_gap(static_cast<uint32_t>(mx) - static_cast<uint32_t>(acc[t]), k, a.lut);
    softmax_row_scale(k, a.ia, sum);
    const uint32_t round = 1u << (k.S - 1);
    uint8_t* codes = a.codes + i * a.ldc;
    for (int64_t t = 0; t < a.T; ++t) codes[t] = prob_code(e[t], k, round, a.Q);
    if (a.sums) a.sums[i] = sum;
  }
}

// AVX-512: 16 lanes, the tables in registers, the row's tail by masks.
BB_TARGET_AVX512 BB_INLINE __m512i exp_of_gap_x16(__m512i d, __m512i dmax, __m512i M, __m512i hi, __m512i lo) {
  const __m512i dc = _mm512_min_epu32(d, dmax);  // d unsigned (exp_of_gap)
  const __m512i z = _mm512_srai_epi32(_mm512_add_epi32(_mm512_mullo_epi32(dc, M), _mm512_set1_epi32(1 << (kScoreShift - 1))), kScoreShift);
  const __m512i q = _mm512_srli_epi32(z, kExpFrac);
  const __m512i ab = _mm512_mullo_epi32(_mm512_permutexvar_epi32(_mm512_srli_epi32(z, 4), hi), _mm512_permutexvar_epi32(z, lo));
  const __m512i v = _mm512_srli_epi32(_mm512_add_epi32(ab, _mm512_set1_epi32(1 << 14)), 15);
  return _mm512_maskz_srlv_epi32(_mm512_cmplt_epi32_mask(q, _mm512_set1_epi32(15)), v, q);
}
BB_TARGET_AVX512 void softmax_rows_avx512(const SoftmaxArgs& a) {
  const __m512i hi = _mm512_loadu_si512(exp2_tables().hi.data()), lo = _mm512_loadu_si512(exp2_tables().lo.data());
  const int64_t full = a.T / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (a.T - full)) - 1);
  for (int64_t i = 0; i < a.rows; ++i) {
    const int32_t* acc = a.acc + i * a.lda;
    int32_t* e = a.e;
    SoftmaxRow& k = a.k[i];
    __m512i vmx = _mm512_set1_epi32(std::numeric_limits<int32_t>::min());
    for (int64_t t = 0; t < full; t += 16) vmx = _mm512_max_epi32(vmx, _mm512_loadu_si512(acc + t));
    if (tail) vmx = _mm512_mask_max_epi32(vmx, tail, vmx, _mm512_maskz_loadu_epi32(tail, acc + full));
    vmx = _mm512_set1_epi32(_mm512_reduce_max_epi32(vmx));
    const __m512i dmax = _mm512_set1_epi32(k.dmax), M = _mm512_set1_epi32(k.M);
    __m512i vsum = _mm512_setzero_si512();
    for (int64_t t = 0; t < full; t += 16) {
      const __m512i x = exp_of_gap_x16(_mm512_sub_epi32(vmx, _mm512_loadu_si512(acc + t)), dmax, M, hi, lo);
      _mm512_storeu_si512(e + t, x);
      vsum = _mm512_add_epi32(vsum, x);
    }
    if (tail) {
      const __m512i x = _mm512_maskz_mov_epi32(
          tail, exp_of_gap_x16(_mm512_sub_epi32(vmx, _mm512_maskz_loadu_epi32(tail, acc + full)), dmax, M, hi, lo));
      _mm512_mask_storeu_epi32(e + full, tail, x);
      vsum = _mm512_add_epi32(vsum, x);
    }
    const int32_t sum = _mm512_reduce_add_epi32(vsum);
    softmax_row_scale(k, a.ia, sum);
    const __m512i G = _mm512_set1_epi32(static_cast<int32_t>(k.G16)), round = _mm512_set1_epi32(1 << (k.S - 1));
    const __m512i Q = _mm512_set1_epi32(a.Q);
    const __m128i S = _mm_cvtsi32_si128(k.S);
    uint8_t* codes = a.codes + i * a.ldc;
    for (int64_t t = 0; t < full; t += 16) {
      const __m512i c = _mm512_srl_epi32(_mm512_add_epi32(_mm512_mullo_epi32(_mm512_loadu_si512(e + t), G), round), S);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + t), _mm512_cvtepi32_epi8(_mm512_min_epu32(c, Q)));
    }
    if (tail) {
      const __m512i c = _mm512_srl_epi32(_mm512_add_epi32(_mm512_mullo_epi32(_mm512_maskz_loadu_epi32(tail, e + full), G), round), S);
      _mm512_mask_cvtepi32_storeu_epi8(codes + full, tail, _mm512_min_epu32(c, Q));
    }
    if (a.sums) a.sums[i] = sum;
  }
}

// AVX2: 8 lanes, vpgatherdd; the row's last T mod 8 scores by the scalar steps.
BB_TARGET_AVX2 BB_INLINE __m256i exp_of_gap_x8(__m256i d, __m256i dmax, __m256i M, const int32_t* lut) {
  const __m256i dc = _mm256_min_epu32(d, dmax);  // d unsigned (exp_of_gap)
  const __m256i z = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(dc, M), _mm256_set1_epi32(1 << (kScoreShift - 1))), kScoreShift);
  const __m256i q = _mm256_srli_epi32(z, kExpFrac);
  const __m256i v = _mm256_i32gather_epi32(lut, _mm256_and_si256(z, _mm256_set1_epi32(kExpEntries - 1)), 4);
  return _mm256_and_si256(_mm256_srlv_epi32(v, q), _mm256_cmpgt_epi32(_mm256_set1_epi32(15), q));
}
BB_TARGET_AVX2 BB_INLINE int32_t hmax_x8(__m256i v) {
  __m128i m = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0x4e));
  m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0xb1));
  return _mm_cvtsi128_si32(m);
}
BB_TARGET_AVX2 BB_INLINE int32_t hsum_x8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}
BB_TARGET_AVX2 void softmax_rows_avx2(const SoftmaxArgs& a) {
  const int64_t full = a.T / 8 * 8;
  for (int64_t i = 0; i < a.rows; ++i) {
    const int32_t* acc = a.acc + i * a.lda;
    int32_t* e = a.e;
    SoftmaxRow& k = a.k[i];
    __m256i vmx = _mm256_set1_epi32(std::numeric_limits<int32_t>::min());
    for (int64_t t = 0; t < full; t += 8)
      vmx = _mm256_max_epi32(vmx, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + t)));
    int32_t mx = hmax_x8(vmx);
    for (int64_t t = full; t < a.T; ++t) mx = acc[t] > mx ? acc[t] : mx;
    vmx = _mm256_set1_epi32(mx);
    const __m256i dmax = _mm256_set1_epi32(k.dmax), M = _mm256_set1_epi32(k.M);
    __m256i vsum = _mm256_setzero_si256();
    for (int64_t t = 0; t < full; t += 8) {
      const __m256i d = _mm256_sub_epi32(vmx, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + t)));
      const __m256i x = exp_of_gap_x8(d, dmax, M, a.lut);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(e + t), x);
      vsum = _mm256_add_epi32(vsum, x);
    }
    int32_t sum = hsum_x8(vsum);
    for (int64_t t = full; t < a.T; ++t) sum += e[t] = exp_of_gap(static_cast<uint32_t>(mx) - static_cast<uint32_t>(acc[t]), k, a.lut);
    softmax_row_scale(k, a.ia, sum);
    const uint32_t round = 1u << (k.S - 1);
    const __m256i G = _mm256_set1_epi32(static_cast<int32_t>(k.G16)), vround = _mm256_set1_epi32(static_cast<int32_t>(round));
    const __m256i Q = _mm256_set1_epi32(a.Q);
    const __m128i S = _mm_cvtsi32_si128(k.S);
    uint8_t* codes = a.codes + i * a.ldc;
    for (int64_t t = 0; t < full; t += 8) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + t));
      const __m256i c = _mm256_min_epu32(_mm256_srl_epi32(_mm256_add_epi32(_mm256_mullo_epi32(x, G), vround), S), Q);
      const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(codes + t), _mm_packus_epi16(w, w));
    }
    for (int64_t t = full; t < a.T; ++t) codes[t] = prob_code(e[t], k, round, a.Q);
    if (a.sums) a.sums[i] = sum;
  }
}

void softmax_rows(const SoftmaxArgs& a) {
  switch (active_isa()) {
    case Isa::kAvx512: return softmax_rows_avx512(a);
    case Isa::kAvx2: return softmax_rows_avx2(a);
    default: return softmax_rows_generic(a);
  }
}

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

// g = c · σ(1.702 x) in Q15 for one row's codes, and max |g|.
BB_INLINE int32_t gelu_of_code(int32_t ck, GeluRow k, int32_t round, const int32_t* lut) {
  const int32_t a = ck < 0 ? -ck : ck;
  int32_t u = (a * k.Mg + round) >> k.Sg;
  u = u < kSigmoidEntries - 1 ? u : kSigmoidEntries - 1;
  const int32_t neg = lut[u];
  return ck * (ck >= 0 ? 32768 - neg : neg);
}
void gelu_row_generic(const int8_t* c, int64_t K, GeluRow k, int32_t* g, int32_t* max_out, const int32_t* lut) {
  const int32_t round = k.Sg > 0 ? 1 << (k.Sg - 1) : 0;
  int32_t mx = 0;
  for (int64_t i = 0; i < K; ++i) {
    g[i] = gelu_of_code(c[i], k, round, lut);
    const int32_t av = g[i] < 0 ? -g[i] : g[i];
    mx = av > mx ? av : mx;
  }
  *max_out = mx;
}
// AVX-512: 16 codes at a time, the table by vpgatherdd (1 088 entries: no
// register table), the row's tail by masks.
BB_TARGET_AVX512 BB_INLINE __m512i gelu_x16(__m512i c, __m512i Mg, __m512i round, __m128i Sg, const int32_t* lut) {
  const __m512i u = _mm512_min_epi32(_mm512_srl_epi32(_mm512_add_epi32(_mm512_mullo_epi32(_mm512_abs_epi32(c), Mg), round), Sg),
                                     _mm512_set1_epi32(kSigmoidEntries - 1));
  const __m512i neg = _mm512_i32gather_epi32(u, lut, 4);
  const __mmask16 pos = _mm512_cmpge_epi32_mask(c, _mm512_setzero_si512());
  return _mm512_mullo_epi32(c, _mm512_mask_sub_epi32(neg, pos, _mm512_set1_epi32(32768), neg));
}
BB_TARGET_AVX512 void gelu_row_avx512(const int8_t* c, int64_t K, GeluRow k, int32_t* g, int32_t* max_out, const int32_t* lut) {
  const __m512i Mg = _mm512_set1_epi32(k.Mg), round = _mm512_set1_epi32(k.Sg > 0 ? 1 << (k.Sg - 1) : 0);
  const __m128i Sg = _mm_cvtsi32_si128(k.Sg);
  __m512i mx = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 16 <= K; i += 16) {
    const __m512i v = gelu_x16(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i))), Mg, round, Sg, lut);
    _mm512_storeu_si512(g + i, v);
    mx = _mm512_max_epi32(mx, _mm512_abs_epi32(v));
  }
  if (i < K) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (K - i)) - 1);
    const __m512i v = gelu_x16(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(tail, c + i)), Mg, round, Sg, lut);  // 0 past K
    _mm512_mask_storeu_epi32(g + i, tail, v);
    mx = _mm512_max_epi32(mx, _mm512_abs_epi32(v));
  }
  *max_out = _mm512_reduce_max_epi32(mx);
}
// AVX2: 8 codes at a time by vpgatherdd; the tail by the scalar steps.
BB_TARGET_AVX2 void gelu_row_avx2(const int8_t* c, int64_t K, GeluRow k, int32_t* g, int32_t* max_out, const int32_t* lut) {
  const int32_t r = k.Sg > 0 ? 1 << (k.Sg - 1) : 0;
  const __m256i Mg = _mm256_set1_epi32(k.Mg), round = _mm256_set1_epi32(r), last = _mm256_set1_epi32(kSigmoidEntries - 1);
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(32768);
  const __m128i Sg = _mm_cvtsi32_si128(k.Sg);
  __m256i vmx = zero;
  int64_t i = 0;
  for (; i + 8 <= K; i += 8) {
    const __m256i ck = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + i)));
    const __m256i u = _mm256_min_epi32(_mm256_srl_epi32(_mm256_add_epi32(_mm256_mullo_epi32(_mm256_abs_epi32(ck), Mg), round), Sg), last);
    const __m256i neg = _mm256_i32gather_epi32(lut, u, 4);
    const __m256i sig = _mm256_blendv_epi8(_mm256_sub_epi32(one, neg), neg, _mm256_cmpgt_epi32(zero, ck));
    const __m256i v = _mm256_mullo_epi32(ck, sig);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + i), v);
    vmx = _mm256_max_epi32(vmx, _mm256_abs_epi32(v));
  }
  int32_t mx = hmax_x8(vmx);
  for (; i < K; ++i) {
    g[i] = gelu_of_code(c[i], k, r, lut);
    const int32_t av = g[i] < 0 ? -g[i] : g[i];
    mx = av > mx ? av : mx;
  }
  *max_out = mx;
}
void gelu_row(const int8_t* c, int64_t K, GeluRow k, int32_t* g, int32_t* max_out, const int32_t* lut) {
  switch (active_isa()) {
    case Isa::kAvx512: return gelu_row_avx512(c, K, k, g, max_out, lut);
    case Isa::kAvx2: return gelu_row_avx2(c, K, k, g, max_out, lut);
    default: return gelu_row_generic(c, K, k, g, max_out, lut);
  }
}

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
  softmax_rows({acc, 1, T, T, &k, inv_alpha_q8(alpha), Q, codes, T, e.data(), &sum, exp2_lut().data()});
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
  softmax_rows({acc, rows, T, lda, k.data(), inv_alpha_q8(alpha), Q, codes, ldc, e.data(), nullptr, exp2_lut().data()});
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
