#include "kernels/bit_gemm.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/cpu_features.hpp"
#include "kernels/fast_math.hpp"
#include "kernels/parallel.hpp"
#include "kernels/intrinsics_warnings.hpp"
#include "core/simd.hpp"

#define BB_TARGET_VNNI __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")))

namespace bb {
namespace {

// --- the GEMM ----------------------------------------------------------------------

struct GemmArgs {
  const BitActs* a;
  const BitMatrix* w;
  const float* bias;  // [N] or null
  float* y;           // [M, N] (float output) or null
  int32_t* acc;       // [M, N] (integer output) or null
  int offset;         // subtracted as offset · Σa (the weights' u = code + offset)
};

// Writes one row m × block b of 16 raw dot products (scalar; the AVX2 and generic paths).
void epilogue_scalar(const GemmArgs& g, const int32_t* lanes, int64_t m, int64_t b) {
  const int64_t N = g.w->N, n0 = b * 16, nc = std::min<int64_t>(16, N - n0);
  const int32_t corr = g.offset * g.a->sum[static_cast<size_t>(m)];
  if (g.acc) {
    for (int64_t c = 0; c < nc; ++c) g.acc[m * N + n0 + c] = lanes[c] - corr;
    return;
  }
  const float am = g.a->mul[static_cast<size_t>(m)];
  for (int64_t c = 0; c < nc; ++c)
    g.y[m * N + n0 + c] = static_cast<float>(lanes[c] - corr) * g.w->scale_at(n0 + c) * am + (g.bias ? g.bias[n0 + c] : 0.0f);
}

using UnpackFn = void (*)(const BitMatrix& w, int64_t b0, int nt, uint8_t* panel);
using TileFn = void (*)(const uint8_t* panel, int64_t Kq, const GemmArgs& g, int64_t m0, int64_t b0);

// Panel: blocks b0..b0+nt-1 unpacked to one byte per weight, [Kq][nt][64].
void unpack_panel_generic(const BitMatrix& w, int64_t b0, int nt, uint8_t* panel) {
  const int bits = w.t->kernel_bits, cpb = 8 / bits, sh0 = w.t->ushift;
  const unsigned mask = (1u << bits) - 1;
  const int64_t vecs = w.vectors_per_block();
  for (int j = 0; j < nt; ++j) {
    const uint8_t* src = w.data.data() + (b0 + j) * vecs * 64;
    for (int64_t v = 0; v < vecs; ++v)
      for (int i = 0; i < cpb; ++i) {
        uint8_t* dst = panel + ((v * cpb + i) * nt + j) * 64;
        for (int e = 0; e < 64; ++e) {
          dst[e] = static_cast<uint8_t>(((src[v * 64 + e] >> (i * bits)) & mask) << sh0);
        }
      }
  }
}

template <int MT>
void tile_generic(const uint8_t* panel, int64_t Kq, const GemmArgs& g, int64_t m0, int64_t b0) {
  const int64_t lda = g.a->Kp;
  const int8_t* a = g.a->row(m0);
  int32_t acc[MT][16] = {};
  for (int64_t kq = 0; kq < Kq; ++kq) {
    const uint8_t* wp = panel + kq * 64;
    for (int r = 0; r < MT; ++r) {
      const int8_t* ar = a + r * lda + kq * 4;
      for (int c = 0; c < 16; ++c)
        acc[r][c] += wp[c * 4] * ar[0] + wp[c * 4 + 1] * ar[1] + wp[c * 4 + 2] * ar[2] + wp[c * 4 + 3] * ar[3];
    }
  }
  for (int r = 0; r < MT; ++r) epilogue_scalar(g, acc[r], m0 + r, b0);
}

// AVX2: a block is two ymm halves; vpmaddubsw + vpmaddwd. vpmaddubsw's int16
// pair sums hold 2 · u · a exactly while u < 128 (a down to -128); wider codes
// (int8's u up to 255) go in as two nibbles, u = 16 · hi + lo, the high
// nibble's pair sums weighted by 16 in vpmaddwd. (Multiplying |w| by
// sign(a, w) instead, as this path once did, turns a = -128 into -128 where
// w < 0: _mm256_sign_epi8 cannot negate it.)
constexpr bool maddubs_exact(int kernel_bits) { return 2 * ((1 << kernel_bits) - 1) * 128 <= 32767; }

BB_TARGET_AVX2 void unpack_panel_avx2(const BitMatrix& w, int64_t b0, int nt, uint8_t* panel) {
  const int bits = w.t->kernel_bits, cpb = 8 / bits, sh0 = w.t->ushift;
  const __m256i mask = _mm256_set1_epi8(static_cast<char>(((1u << bits) - 1) << sh0));
  const int64_t vecs = w.vectors_per_block();
  for (int j = 0; j < nt; ++j) {
    const uint8_t* src = w.data.data() + (b0 + j) * vecs * 64;
    for (int64_t v = 0; v < vecs; ++v)
      for (int h = 0; h < 2; ++h) {
        const __m256i p = _mm256_load_si256(reinterpret_cast<const __m256i*>(src + v * 64 + h * 32));
        for (int i = 0; i < cpb; ++i) {
          const int sh = i * bits - sh0;
          __m256i x = sh > 0 ? _mm256_srl_epi16(p, _mm_cvtsi32_si128(sh)) : sh < 0 ? _mm256_slli_epi16(p, 1) : p;
          x = _mm256_and_si256(x, mask);
          _mm256_store_si256(reinterpret_cast<__m256i*>(panel + ((v * cpb + i) * nt + j) * 64 + h * 32), x);
        }
      }
  }
}

template <int MT, bool kNibbles>
BB_TARGET_AVX2 void tile_avx2(const uint8_t* panel, int64_t Kq, const GemmArgs& g, int64_t m0, int64_t b0) {
  const int64_t lda = g.a->Kp;
  const int8_t* a = g.a->row(m0);
  const __m256i ones = _mm256_set1_epi16(1), sixteens = _mm256_set1_epi16(16), low = _mm256_set1_epi8(0x0F);
  __m256i acc[MT][2];
  for (int r = 0; r < MT; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t kq = 0; kq < Kq; ++kq) {
    const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + kq * 64));
    const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + kq * 64 + 32));
    // kNibbles: the low nibbles here, the high ones below (each < 16)
    const __m256i l0 = kNibbles ? _mm256_and_si256(w0, low) : w0, l1 = kNibbles ? _mm256_and_si256(w1, low) : w1;
    [[maybe_unused]] const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(w0, 4), low), h1 = _mm256_and_si256(_mm256_srli_epi16(w1, 4), low);
#pragma GCC unroll 8
    for (int r = 0; r < MT; ++r) {
      int32_t v;
      std::memcpy(&v, a + r * lda + kq * 4, 4);
      const __m256i av = _mm256_set1_epi32(v);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(l0, av), ones));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(l1, av), ones));
      if constexpr (kNibbles) {
        acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(h0, av), sixteens));
        acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(h1, av), sixteens));
      }
    }
  }
  for (int r = 0; r < MT; ++r) {
    alignas(32) int32_t lanes[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), acc[r][1]);
    epilogue_scalar(g, lanes, m0 + r, b0);
  }
}

// AVX-512 VNNI: one vpdpbusd multiplies a block's 16 × 4 unsigned codes by
// four broadcast activations. Tiles of MT rows × NT blocks keep MT · NT
// accumulators in registers.
BB_TARGET_VNNI void unpack_panel_vnni(const BitMatrix& w, int64_t b0, int nt, uint8_t* panel) {
  const int bits = w.t->kernel_bits, cpb = 8 / bits, sh0 = w.t->ushift;
  const __m512i mask = _mm512_set1_epi8(static_cast<char>(((1u << bits) - 1) << sh0));
  const int64_t vecs = w.vectors_per_block();
  for (int j = 0; j < nt; ++j) {
    const uint8_t* src = w.data.data() + (b0 + j) * vecs * 64;
    for (int64_t v = 0; v < vecs; ++v) {
      const __m512i p = _mm512_load_si512(src + v * 64);
      for (int i = 0; i < cpb; ++i) {
        const int sh = i * bits - sh0;
        __m512i x = sh > 0 ? _mm512_srl_epi16(p, _mm_cvtsi32_si128(sh)) : sh < 0 ? _mm512_slli_epi16(p, 1) : p;
        _mm512_store_si512(panel + ((v * cpb + i) * nt + j) * 64, _mm512_and_si512(x, mask));
      }
    }
  }
}

BB_TARGET_VNNI BB_INLINE void epilogue_vnni(const GemmArgs& g, __m512i lanes, int64_t m, int64_t b) {
  const int64_t N = g.w->N, n0 = b * 16, nc = std::min<int64_t>(16, N - n0);
  const __mmask16 k = nc >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << nc) - 1);
  const __m512i v = _mm512_sub_epi32(lanes, _mm512_set1_epi32(g.offset * g.a->sum[static_cast<size_t>(m)]));
  if (g.acc) return _mm512_mask_storeu_epi32(g.acc + m * N + n0, k, v);
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, v), (g.w->per_column() ? _mm512_loadu_ps(g.w->scale.data() + n0) : _mm512_set1_ps(g.w->scale[0]))),
                           _mm512_set1_ps(g.a->mul[static_cast<size_t>(m)]));
  if (g.bias) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(k, g.bias + n0));
  _mm512_mask_storeu_ps(g.y + m * N + n0, k, y);
}

// acc += u8 w · s8 a (a: four activations broadcast). Inline asm: GCC 12
// copies every accumulator around the intrinsic's destructive form.
BB_TARGET_VNNI BB_INLINE __m512i dpbusd(__m512i acc, __m512i w, __m512i a) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(w), "v"(a));
  return acc;
}

template <int MT, int NT>
BB_TARGET_VNNI void tile_vnni(const uint8_t* panel, int64_t Kq, const GemmArgs& g, int64_t m0, int64_t b0) {
  const int64_t lda = g.a->Kp;
  const int8_t* a = g.a->row(m0);
  __m512i acc[MT][NT];
#pragma GCC unroll 8
  for (int r = 0; r < MT; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NT; ++j) acc[r][j] = _mm512_setzero_si512();
  for (int64_t kq = 0; kq < Kq; ++kq) {
    __m512i w[NT];
#pragma GCC unroll 4
    for (int j = 0; j < NT; ++j) w[j] = _mm512_load_si512(panel + (kq * NT + j) * 64);
#pragma GCC unroll 8
    for (int r = 0; r < MT; ++r) {
      int32_t v;  // one register broadcast per row, shared by the NT blocks
      std::memcpy(&v, a + r * lda + kq * 4, 4);
      const __m512i av = _mm512_set1_epi32(v);
#pragma GCC unroll 4
      for (int j = 0; j < NT; ++j) acc[r][j] = dpbusd(acc[r][j], w[j], av);
    }
  }
  // Unrolled too, or GCC keeps acc in memory and stores it every iteration.
#pragma GCC unroll 8
  for (int r = 0; r < MT; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NT; ++j) epilogue_vnni(g, acc[r][j], m0 + r, b0 + j);
}

// Few rows (M < 4): straight from the packed weights, no panel. Field i of a
// stored vector is masked in place (not shifted), so it holds u · 2^(i·bits);
// each field accumulates apart and is shifted back once at the end (exact: a
// sum of multiples of 2^s shifted right by s). One AND per vpdpbusd.
// Column blocks per call: about 16 accumulators (MT · NT · CPB), at most 4 blocks.
template <int CPB>
constexpr int gemv_nt(int mt) {
  return 16 / (CPB * mt) < 1 ? 1 : 16 / (CPB * mt) > 4 ? 4 : 16 / (CPB * mt);
}
template <int CPB, int MT>
BB_TARGET_VNNI void gemv_vnni(const GemmArgs& g, int64_t m0, int64_t b0) {
  constexpr int kBits = 8 / CPB;
  constexpr int NT = gemv_nt<CPB>(MT);
  const BitMatrix& w = *g.w;
  const int nt = static_cast<int>(std::min<int64_t>(NT, w.blocks - b0));
  const int64_t lda = g.a->Kp, vecs = w.vectors_per_block();
  const int8_t* a = g.a->row(m0);
  const uint8_t* src = w.data.data() + b0 * vecs * 64;
  __m512i acc[MT][NT][CPB];
#pragma GCC unroll 4
  for (int r = 0; r < MT; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NT; ++j)
#pragma GCC unroll 8
      for (int i = 0; i < CPB; ++i) acc[r][j][i] = _mm512_setzero_si512();
  for (int64_t v = 0; v < vecs; ++v) {
    __m512i p[NT];
#pragma GCC unroll 4
    for (int j = 0; j < NT; ++j) p[j] = _mm512_load_si512(src + (std::min(j, nt - 1) * vecs + v) * 64);
#pragma GCC unroll 8
    for (int i = 0; i < CPB; ++i) {
      const __m512i mask = _mm512_set1_epi8(static_cast<char>(((1u << kBits) - 1) << (i * kBits)));
      __m512i x[NT];
#pragma GCC unroll 4
      for (int j = 0; j < NT; ++j) x[j] = _mm512_and_si512(p[j], mask);
#pragma GCC unroll 4
      for (int r = 0; r < MT; ++r) {
        int32_t av4;  // one register broadcast, shared by the NT blocks
        std::memcpy(&av4, a + r * lda + (v * CPB + i) * 4, 4);
        const __m512i av = _mm512_set1_epi32(av4);
#pragma GCC unroll 4
        for (int j = 0; j < NT; ++j) acc[r][j][i] = dpbusd(acc[r][j][i], x[j], av);
      }
    }
  }
  const __m128i ushift = _mm_cvtsi32_si128(w.t->ushift);
#pragma GCC unroll 4
  for (int r = 0; r < MT; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NT; ++j) {
      if (j >= nt) break;
      __m512i sum = acc[r][j][0];
#pragma GCC unroll 8
      for (int i = 1; i < CPB; ++i) sum = _mm512_add_epi32(sum, _mm512_srai_epi32(acc[r][j][i], i * kBits));
      epilogue_vnni(g, _mm512_sll_epi32(sum, ushift), m0 + r, b0 + j);
    }
}
using GemvFn = void (*)(const GemmArgs& g, int64_t m0, int64_t b0);
#define BB_GEMV_ROW(CPB) {&gemv_vnni<CPB, 1>, &gemv_vnni<CPB, 2>, &gemv_vnni<CPB, 3>}
const GemvFn kGemvTiles[4][3] = {BB_GEMV_ROW(1), BB_GEMV_ROW(2), BB_GEMV_ROW(4), BB_GEMV_ROW(8)};
#undef BB_GEMV_ROW
int gemv_row(int cpb) { return cpb == 1 ? 0 : cpb == 2 ? 1 : cpb == 4 ? 2 : 3; }
int gemv_blocks(int cpb, int mt) {
  switch (cpb) {
    case 1: return gemv_nt<1>(mt);
    case 2: return gemv_nt<2>(mt);
    case 4: return gemv_nt<4>(mt);
    default: return gemv_nt<8>(mt);
  }
}

#define BB_VNNI_ROW(MT) {&tile_vnni<MT, 1>, &tile_vnni<MT, 2>, &tile_vnni<MT, 3>, &tile_vnni<MT, 4>}
const TileFn kVnniTiles[6][4] = {BB_VNNI_ROW(1), BB_VNNI_ROW(2), BB_VNNI_ROW(3),
                                 BB_VNNI_ROW(4), BB_VNNI_ROW(5), BB_VNNI_ROW(6)};
#undef BB_VNNI_ROW
const TileFn kAvx2Tiles[2][4] = {{&tile_avx2<1, false>, &tile_avx2<2, false>, &tile_avx2<3, false>, &tile_avx2<4, false>},
                                 {&tile_avx2<1, true>, &tile_avx2<2, true>, &tile_avx2<3, true>, &tile_avx2<4, true>}};
const TileFn kGenericTiles[4] = {&tile_generic<1>, &tile_generic<2>, &tile_generic<3>, &tile_generic<4>};

enum class Path { kGeneric, kAvx2, kVnni };
Path current_path() {
  const Isa isa = active_isa();
  if (isa == Isa::kAvx512 && cpu_features().avx512vnni) return Path::kVnni;
  return isa == Isa::kGeneric ? Path::kGeneric : Path::kAvx2;
}

void run_gemm(GemmArgs g) {
  const BitActs& a = *g.a;
  const BitMatrix& w = *g.w;
  if (a.K != w.K || a.Kp != w.Kp)
    throw Error::usage("bit_gemm: activations have K = " + std::to_string(a.K) + ", weights " + std::to_string(w.K));
  const int64_t M = a.M, Kq = w.Kp / 4;
  if (M == 0 || w.N == 0) return;
  const Path path = current_path();
  // Tile shape: few rows → more column blocks per tile, so enough accumulators run side by side.
  int NT = 1, MT = 4;
  if (path == Path::kVnni) {
    NT = 4;  // M < 4 takes gemv_vnni; 6 × 4 accumulators measured best
    MT = 6;
  }
  const bool nibbles = path == Path::kAvx2 && !maddubs_exact(w.t->kernel_bits);
  g.offset = w.t->offset;
  const UnpackFn unpack = path == Path::kVnni   ? unpack_panel_vnni
                          : path == Path::kAvx2 ? unpack_panel_avx2
                                                : unpack_panel_generic;
  const int64_t panels = (w.blocks + NT - 1) / NT;
  // Few panels for the threads: split the rows too (each part unpacks its panel itself).
  const int64_t threads = threads_for_macs(M * w.N * w.Kp);  // 1: no row split (each part re-unpacks its panel)
  const bool parallel = threads > 1;
  int64_t mparts = 1;
  if (panels < 2 * threads) mparts = std::min<int64_t>((M + MT - 1) / MT, (2 * threads + panels - 1) / panels);
  const int64_t mstep = ((M + mparts - 1) / mparts + MT - 1) / MT * MT;
  mparts = (M + mstep - 1) / mstep;
  if (path == Path::kVnni && M < 4) {
    const int cpb = 8 / w.t->kernel_bits, mt = static_cast<int>(M), nt = gemv_blocks(cpb, mt);
    const GemvFn fn = kGemvTiles[gemv_row(cpb)][mt - 1];
    const int64_t tiles = (w.blocks + nt - 1) / nt;
    parallel_tasks(tiles, parallel, [&](int64_t t) { fn(g, 0, t * nt); });
    return;
  }
  const size_t panel_bytes = static_cast<size_t>(Kq * NT * 64);
  parallel_tasks(panels * mparts, parallel, [&](int64_t t) {
    thread_local AlignedBytes scratch;
    if (scratch.size() < panel_bytes) scratch.resize(panel_bytes);
    const int64_t p = t / mparts, mp = t % mparts;
    const int64_t b0 = p * NT;
    const int nt = static_cast<int>(std::min<int64_t>(NT, w.blocks - b0));
    unpack(w, b0, nt, scratch.data());
    const int64_t m_end = std::min(M, (mp + 1) * mstep);
    for (int64_t m0 = mp * mstep; m0 < m_end; m0 += MT) {
      const int mt = static_cast<int>(std::min<int64_t>(MT, m_end - m0));
      if (path == Path::kVnni) {
        kVnniTiles[mt - 1][nt - 1](scratch.data(), Kq, g, m0, b0);
      } else {
        const TileFn tile = path == Path::kAvx2 ? kAvx2Tiles[nibbles][mt - 1] : kGenericTiles[mt - 1];
        tile(scratch.data(), Kq, g, m0, b0);  // NT is 1 on these paths
      }
    }
  });
}

}  // namespace

void bit_gemm(const BitActs& a, const BitMatrix& w, const float* bias, float* y) {
  run_gemm({&a, &w, bias, y, nullptr, 0});
}

void bit_gemm_i32(const BitActs& a, const BitMatrix& w, int32_t* acc) { run_gemm({&a, &w, nullptr, nullptr, acc, 0}); }

void bit_gemm_reference(const int8_t* a, const int8_t* codes, int64_t M, int64_t N, int64_t K, int32_t* acc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int32_t s = 0;
      for (int64_t k = 0; k < K; ++k) s += a[m * K + k] * codes[n * K + k];
      acc[m * N + n] = s;
    }
}

const char* bit_gemm_path() {
  switch (current_path()) {
    case Path::kVnni: return "avx512-vnni";
    case Path::kAvx2: return "avx2";
    default: return "generic";
  }
}

}  // namespace bb
