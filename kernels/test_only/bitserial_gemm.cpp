#include "kernels/test_only/bitserial_gemm.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "kernels/popcount_gemm.hpp"
#include "kernels/quant_format.hpp"
#include "kernels/intrinsics_warnings.hpp"
#include "core/simd.hpp"

namespace bb {
namespace {

using SArgs = PopcountArgs<PlaneActs, PlaneMatrix>;
constexpr int64_t kPanel = kPopcountPanel;

// Σ ua·uw → Σ a·w (see the header), then out.
void store_one(const SArgs& g, int64_t m, int64_t n, int64_t uu) {
  const PlaneCode ca = g.a->code, cw = g.w->code;
  const int64_t dot = static_cast<int64_t>(ca.s) * cw.s * uu -
                      static_cast<int64_t>(ca.s) * cw.o * g.a->usum[static_cast<size_t>(m)] -
                      static_cast<int64_t>(ca.o) * cw.s * g.w->usum[static_cast<size_t>(n)] +
                      g.w->K * ca.o * cw.o;
  store_dot(g, m, n, static_cast<int32_t>(dot));
}

BB_INLINE void panel_scalar_body(const SArgs& g, int64_t m0, int64_t m1, int64_t n0) {
  const PlaneActs& a = *g.a;
  const PlaneMatrix& w = *g.w;
  const int64_t nc = std::min(kPanel, w.N - n0);
  for (int64_t m = m0; m < m1; ++m) {
    int64_t uu[kPanel] = {};
    for (int b = 0; b < a.code.planes; ++b)
      for (int c = 0; c < w.code.planes; ++c) {
        int64_t pc[kPanel] = {};
        const uint64_t* ar = a.words.data() + (m * a.code.planes + b) * a.Kw;
        for (int64_t kw = 0; kw < w.Kw; ++kw) {
          const uint64_t* wr = w.word_row(c, kw) + n0;
          for (int64_t j = 0; j < kPanel; ++j) pc[j] += __builtin_popcountll(ar[kw] & wr[j]);
        }
        for (int64_t j = 0; j < kPanel; ++j) uu[j] += pc[j] << (b + c);
      }
    for (int64_t j = 0; j < nc; ++j) store_one(g, m, n0 + j, uu[j]);
  }
}

// AVX-512: MT rows × 4 zmm (32 columns); per plane pair the popcounts are
// summed over K first, then shifted into place once.
template <int MT>
BB_TARGET_VPOPCNT void tile_vpopcnt(const SArgs& g, int64_t m0, int64_t n0) {
  const PlaneActs& a = *g.a;
  const PlaneMatrix& w = *g.w;
  __m512i uu[MT][4];
  for (int r = 0; r < MT; ++r)
    for (int j = 0; j < 4; ++j) uu[r][j] = _mm512_setzero_si512();
  for (int b = 0; b < a.code.planes; ++b)
    for (int c = 0; c < w.code.planes; ++c) {
      __m512i pc[MT][4];
#pragma GCC unroll 4
      for (int r = 0; r < MT; ++r)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) pc[r][j] = _mm512_setzero_si512();
      for (int64_t kw = 0; kw < w.Kw; ++kw) {
        const uint64_t* wr = w.word_row(c, kw) + n0;
        __m512i wv[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) wv[j] = _mm512_load_si512(wr + 8 * j);
#pragma GCC unroll 4
        for (int r = 0; r < MT; ++r) {
          const __m512i av =
              _mm512_set1_epi64(static_cast<long long>(a.words[static_cast<size_t>(((m0 + r) * a.code.planes + b) * a.Kw + kw)]));
#pragma GCC unroll 4
          for (int j = 0; j < 4; ++j) pc[r][j] = _mm512_add_epi64(pc[r][j], _mm512_popcnt_epi64(_mm512_and_si512(av, wv[j])));
        }
      }
      const __m128i sh = _mm_cvtsi32_si128(b + c);
#pragma GCC unroll 4
      for (int r = 0; r < MT; ++r)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) uu[r][j] = _mm512_add_epi64(uu[r][j], _mm512_sll_epi64(pc[r][j], sh));
    }
  alignas(64) int64_t lanes[32];
  for (int r = 0; r < MT; ++r) {
    for (int j = 0; j < 4; ++j) _mm512_store_si512(lanes + 8 * j, uu[r][j]);
    const int64_t nc = std::min(kPanel, w.N - n0);
    for (int64_t j = 0; j < nc; ++j) store_one(g, m0 + r, n0 + j, lanes[j]);
  }
}
using TileFn = void (*)(const SArgs&, int64_t, int64_t);
const TileFn kTiles[2] = {&tile_vpopcnt<1>, &tile_vpopcnt<2>};

struct BitserialKernel {
  static void vpopcnt(const SArgs& g, int64_t m0, int64_t m1, int64_t n0) {
    for (int64_t m = m0; m < m1; m += 2) kTiles[std::min<int64_t>(2, m1 - m) - 1](g, m, n0);
  }
  BB_TARGET_POPCNT static void popcnt(const SArgs& g, int64_t m0, int64_t m1, int64_t n0) { panel_scalar_body(g, m0, m1, n0); }
  static void generic(const SArgs& g, int64_t m0, int64_t m1, int64_t n0) { panel_scalar_body(g, m0, m1, n0); }
};

}  // namespace

PlaneMatrix pack_plane_matrix(const WeightFormatTraits& t, const int8_t* codes, int64_t N, int64_t K,
                              const float* scales, bool per_row) {
  PlaneMatrix w;
  w.N = N;
  w.K = K;
  w.Kw = (K + 63) / 64;
  w.Np = (N + kPanel - 1) / kPanel * kPanel;
  // The format row's unsigned form: code = 2^ushift · u − offset, u in kernel_bits planes.
  w.code = PlaneCode{t.kernel_bits, 1 << t.ushift, t.offset};
  if (w.code.planes < 1 || w.code.planes > 4)
    throw Error::usage(std::string("pack_plane_matrix: bit-serial weights take 1 to 4 bits, not ") + t.name);
  w.words.resize(static_cast<size_t>(w.code.planes * w.Kw * w.Np) * 8);
  std::memset(w.words.data(), 0, w.words.size());
  w.usum.assign(static_cast<size_t>(w.Np), 0);
  auto* words = reinterpret_cast<uint64_t*>(w.words.data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const int c = codes[n * K + k];
      if (!t.holds(c))
        throw Error::usage("pack_plane_matrix: code " + std::to_string(c) + " at [" + std::to_string(n) + ", " +
                           std::to_string(k) + "] is outside the " + t.name + " format");
      const int u = (c + w.code.o) / w.code.s;
      w.usum[static_cast<size_t>(n)] += u;
      for (int p = 0; p < w.code.planes; ++p)
        if ((u >> p) & 1) words[(p * w.Kw + k / 64) * w.Np + n] |= uint64_t{1} << (k % 64);
    }
  w.scale.assign(static_cast<size_t>(w.Np), 0.0f);
  for (int64_t n = 0; n < N; ++n) w.scale[static_cast<size_t>(n)] = scales[per_row ? n : 0];
  return w;
}

void planes_from_acts(const BitActs& a, PlaneActs& out) {
  const ActFormatTraits& t = act_traits(a.format);
  if (t.bits > 4) throw Error::usage(std::string("bit-serial activations take 1, 2 or 4 bits, not ") + t.name);
  // The format row's unsigned form (binary ±1 = 2u − 1; signed k-bit codes c = u − 2^(k−1)).
  out.code = PlaneCode{t.bits, 1 << t.ushift, t.offset};
  out.M = a.M;
  out.K = a.K;
  out.Kw = (a.K + 63) / 64;
  const int P = out.code.planes;
  out.words.assign(static_cast<size_t>(a.M * P * out.Kw), 0);
  out.usum.assign(static_cast<size_t>(a.M), 0);
  out.mul = a.mul;
#pragma omp parallel for schedule(static) if (a.M * a.K > 65536)
  for (int64_t m = 0; m < a.M; ++m) {
    const int8_t* q = a.row(m);
    uint64_t* wr = out.words.data() + m * P * out.Kw;
    int32_t s = 0;
    for (int64_t k = 0; k < a.K; ++k) {
      const int u = (q[k] + out.code.o) / out.code.s;
      s += u;
      for (int p = 0; p < P; ++p)
        if ((u >> p) & 1) wr[p * out.Kw + k / 64] |= uint64_t{1} << (k % 64);
    }
    out.usum[static_cast<size_t>(m)] = s;
  }
}

void bitserial_gemm(const PlaneActs& a, const PlaneMatrix& w, const float* bias, float* y) {
  run_popcount_gemm<BitserialKernel>(SArgs{&a, &w, bias, y, nullptr}, "bitserial_gemm", 32, 1 << 19);
}
void bitserial_gemm_i32(const PlaneActs& a, const PlaneMatrix& w, int32_t* acc) {
  run_popcount_gemm<BitserialKernel>(SArgs{&a, &w, nullptr, nullptr, acc}, "bitserial_gemm", 32, 1 << 19);
}

const char* bitserial_gemm_path() { return popcount_path_name(); }

}  // namespace bb
