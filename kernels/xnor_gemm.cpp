#include "kernels/xnor_gemm.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "core/cpu_features.hpp"
#include "kernels/popcount_gemm.hpp"
#include "kernels/intrinsics_warnings.hpp"
#include "core/simd.hpp"

namespace bb {
namespace {

using XArgs = PopcountArgs<SignActs, SignMatrix>;
constexpr int64_t kPanel = kPopcountPanel;

// Rows [m0, m1) × one panel of 32 columns, 64-bit popcount per word.
BB_INLINE void panel_scalar_body(const XArgs& g, int64_t m0, int64_t m1, int64_t n0) {
  const SignMatrix& w = *g.w;
  const int64_t nc = std::min(kPanel, w.N - n0);
  for (int64_t m = m0; m < m1; ++m) {
    int64_t pc[kPanel] = {};
    const uint64_t* ar = g.a->words.data() + m * w.Kw;
    for (int64_t kw = 0; kw < w.Kw; ++kw) {
      const uint64_t aw = ar[kw];
      const uint64_t* wr = w.word_row(kw) + n0;
      for (int64_t c = 0; c < kPanel; ++c) pc[c] += __builtin_popcountll(aw ^ wr[c]);
    }
    for (int64_t c = 0; c < nc; ++c) store_dot(g, m, n0 + c, w.K - 2 * pc[c]);
  }
}

// AVX-512: MT rows × 4 zmm of 8 columns; vpxorq + vpopcntq + vpaddq per 512
// products. Everything the epilogue reads is a local restrict pointer: through
// g the compiler reloaded the fields after every float store.
template <int MT>
BB_TARGET_VPOPCNT BB_INLINE void tile_vpopcnt(const uint64_t* __restrict a, const uint64_t* __restrict w, int64_t Kw,
                                              int64_t Np, int64_t K, int64_t N, int64_t m, int64_t n0,
                                              const float* __restrict scale, const float* __restrict mul,
                                              const float* __restrict bias, float* __restrict y, int32_t* __restrict acc_out) {
  __m512i acc[MT][4];
#pragma GCC unroll 4
  for (int r = 0; r < MT; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_si512();
  for (int64_t kw = 0; kw < Kw; ++kw) {
    const uint64_t* wr = w + kw * Np + n0;
    __m512i wv[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) wv[j] = _mm512_load_si512(wr + 8 * j);
#pragma GCC unroll 4
    for (int r = 0; r < MT; ++r) {
      const __m512i av = _mm512_set1_epi64(static_cast<long long>(a[(m + r) * Kw + kw]));
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_add_epi64(acc[r][j], _mm512_popcnt_epi64(_mm512_xor_si512(av, wv[j])));
    }
  }
  // Epilogue on 16 columns at a time (two accumulators narrowed into one
  // zmm): at K = 192 it costs as much as the three popcount steps otherwise.
  const __m512i kk = _mm512_set1_epi32(static_cast<int32_t>(K));
#pragma GCC unroll 4
  for (int r = 0; r < MT; ++r) {
    const __m512 vm = _mm512_set1_ps(acc_out ? 0.0f : mul[m + r]);
#pragma GCC unroll 2
    for (int j = 0; j < 4; j += 2) {
      const int64_t n = n0 + 8 * j, nc = std::min<int64_t>(16, N - n);
      if (nc <= 0) break;
      const __mmask16 k = static_cast<__mmask16>(nc >= 16 ? 0xFFFF : (1u << nc) - 1);
      const __m512i pc = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(acc[r][j])),
                                            _mm512_cvtepi64_epi32(acc[r][j + 1]), 1);
      const __m512i dot = _mm512_sub_epi32(kk, _mm512_slli_epi32(pc, 1));
      if (acc_out) {
        _mm512_mask_storeu_epi32(acc_out + (m + r) * N + n, k, dot);
        continue;
      }
      __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(dot), _mm512_loadu_ps(scale + n)), vm);
      if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, bias + n));
      _mm512_mask_storeu_ps(y + (m + r) * N + n, k, v);
    }
  }
}

// Rows [m0, m1) × the panel at n0, four rows at a time.
BB_TARGET_VPOPCNT void rows_vpopcnt(const XArgs& g, int64_t m0, int64_t m1, int64_t n0) {
  const SignMatrix& w = *g.w;
  const uint64_t* a = g.a->words.data();
  const uint64_t* wd = w.word_row(0);
  const float *scale = w.scale.data(), *mul = g.a->mul.data(), *bias = g.bias;
  float* y = g.y;
  int32_t* acc = g.acc;
  const int64_t Kw = w.Kw, Np = w.Np, K = w.K, N = w.N;
  int64_t m = m0;
  for (; m + 4 <= m1; m += 4) tile_vpopcnt<4>(a, wd, Kw, Np, K, N, m, n0, scale, mul, bias, y, acc);
  switch (m1 - m) {
    case 3: return tile_vpopcnt<3>(a, wd, Kw, Np, K, N, m, n0, scale, mul, bias, y, acc);
    case 2: return tile_vpopcnt<2>(a, wd, Kw, Np, K, N, m, n0, scale, mul, bias, y, acc);
    case 1: return tile_vpopcnt<1>(a, wd, Kw, Np, K, N, m, n0, scale, mul, bias, y, acc);
    default: return;
  }
}

struct XnorKernel {
  static void vpopcnt(const XArgs& g, int64_t m0, int64_t m1, int64_t n0) { rows_vpopcnt(g, m0, m1, n0); }
  BB_TARGET_POPCNT static void popcnt(const XArgs& g, int64_t m0, int64_t m1, int64_t n0) { panel_scalar_body(g, m0, m1, n0); }
  static void generic(const XArgs& g, int64_t m0, int64_t m1, int64_t n0) { panel_scalar_body(g, m0, m1, n0); }
};

}  // namespace

SignMatrix pack_sign_matrix(const int8_t* codes, int64_t N, int64_t K, const float* scales, bool per_row) {
  SignMatrix w;
  w.N = N;
  w.K = K;
  w.Kw = (K + 63) / 64;
  w.Np = (N + kPanel - 1) / kPanel * kPanel;
  w.words.resize(static_cast<size_t>(w.Kw * w.Np) * 8);
  std::memset(w.words.data(), 0, w.words.size());
  auto* words = reinterpret_cast<uint64_t*>(w.words.data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const int c = codes[n * K + k];
      if (c != 1 && c != -1)
        throw Error::usage("pack_sign_matrix: code " + std::to_string(c) + " at [" + std::to_string(n) + ", " +
                           std::to_string(k) + "] is not ±1");
      if (c > 0) words[(k / 64) * w.Np + n] |= uint64_t{1} << (k % 64);
    }
  w.scale.assign(static_cast<size_t>(w.Np), 0.0f);
  for (int64_t n = 0; n < N; ++n) w.scale[static_cast<size_t>(n)] = scales[per_row ? n : 0];
  return w;
}

namespace {

// words[K / 64] = bit k set where q[k] > 0. Branch-free and built in a
// register: a branch per code mispredicts half the time on random signs, and
// stores through wr could alias the int8 codes (measured: 24 % of a DeiT-Tiny
// W1A1 forward before).
void sign_words_generic(const int8_t* q, int64_t K, uint64_t* wr) {
  for (int64_t k0 = 0; k0 < K; k0 += 64) {
    const int64_t n = std::min<int64_t>(64, K - k0);
    uint64_t bits = 0;
    for (int64_t j = 0; j < n; ++j) bits |= static_cast<uint64_t>(q[k0 + j] > 0) << j;
    wr[k0 / 64] = bits;
  }
}
// The same with one compare-to-mask per 64 codes (AVX-512BW).
BB_TARGET_AVX512 void sign_words_avx512(const int8_t* q, int64_t K, uint64_t* wr) {
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t k0 = 0; k0 < K; k0 += 64) {
    const int64_t n = std::min<int64_t>(64, K - k0);
    const __mmask64 live = n == 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
    wr[k0 / 64] = _mm512_cmpgt_epi8_mask(_mm512_maskz_loadu_epi8(live, q + k0), zero);
  }
}

}  // namespace

void signs_from_acts(const BitActs& a, SignActs& out) {
  if (a.format != ActFormat::kBinary)
    throw Error::usage(std::string("signs_from_acts: the XNOR kernel takes binary activations, not ") + act_traits(a.format).name);
  out.M = a.M;
  out.K = a.K;
  out.Kw = (a.K + 63) / 64;
  out.words.assign(static_cast<size_t>(a.M * out.Kw), 0);
  out.mul = a.mul;
  const bool vector = active_isa() == Isa::kAvx512;
#pragma omp parallel for schedule(static) if (a.M * a.K > 65536)
  for (int64_t m = 0; m < a.M; ++m) {
    if (vector)
      sign_words_avx512(a.row(m), a.K, out.words.data() + m * out.Kw);
    else
      sign_words_generic(a.row(m), a.K, out.words.data() + m * out.Kw);
  }
}

void quantize_signs(const float* x, int64_t M, int64_t K, SignActs& out) {
  thread_local BitActs codes;
  quantize_acts(x, M, K, ActFormat::kBinary, codes);
  signs_from_acts(codes, out);
}

void set_signs(const int8_t* a, int64_t M, int64_t K, SignActs& out) {
  out.M = M;
  out.K = K;
  out.Kw = (K + 63) / 64;
  out.words.assign(static_cast<size_t>(M * out.Kw), 0);
  out.mul.assign(static_cast<size_t>(M), 1.0f);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      const int c = a[m * K + k];
      if (c != 1 && c != -1) throw Error::usage("set_signs: activation codes must be ±1");
      if (c > 0) out.words[static_cast<size_t>(m * out.Kw + k / 64)] |= uint64_t{1} << (k % 64);
    }
}

void xnor_gemm(const SignActs& a, const SignMatrix& w, const float* bias, float* y) {
  run_popcount_gemm<XnorKernel>(XArgs{&a, &w, bias, y, nullptr}, "xnor_gemm", 64, 1 << 20);
}
void xnor_gemm_i32(const SignActs& a, const SignMatrix& w, int32_t* acc) {
  run_popcount_gemm<XnorKernel>(XArgs{&a, &w, nullptr, nullptr, acc}, "xnor_gemm", 64, 1 << 20);
}

PopcountPath popcount_path() {
  const Isa isa = active_isa();
  if (isa == Isa::kAvx512 && cpu_features().avx512vpopcntdq) return PopcountPath::kVpopcnt;
  return isa == Isa::kGeneric ? PopcountPath::kGeneric : PopcountPath::kPopcnt;
}

const char* popcount_path_name() {
  switch (popcount_path()) {
    case PopcountPath::kVpopcnt: return "avx512-vpopcntdq";
    case PopcountPath::kPopcnt: return "popcnt";
    default: return "generic";
  }
}

const char* xnor_gemm_path() { return popcount_path_name(); }

}  // namespace bb
