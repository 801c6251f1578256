#include "kernels/test_only/lut_gemv.hpp"

#include <immintrin.h>

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "kernels/parallel.hpp"
#include "core/simd.hpp"

// GCC 12's _mm512_broadcast_i32x4 passes an "undefined" source that
// -Wmaybe-uninitialized reports (the false positive bit_gemm.cpp silences too).
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace bb {
namespace {

constexpr int64_t kCols = 64;  // output columns per block (one zmm of indices)
// int16 accumulators take ≤ 2 · 254 per vector: flush to int32 every 64 vectors (64 · 508 < 32768).
constexpr int64_t kFlush = 64;

// Tables of one row: lo, hi [Kp / 2][16] bytes of the int16 pair products.
void build_tables(const int8_t* a, int64_t Kp, uint8_t* lo, uint8_t* hi) {
  for (int64_t p = 0; p < Kp / 2; ++p) {
    const int a0 = a[2 * p], a1 = a[2 * p + 1];
    for (int e = 0; e < 16; ++e) {
      const int v = e < 9 ? (e / 3 - 1) * a0 + (e % 3 - 1) * a1 : 0;
      lo[p * 16 + e] = static_cast<uint8_t>(v & 0xFF);
      hi[p * 16 + e] = static_cast<uint8_t>((v >> 8) & 0xFF);
    }
  }
}

// One row × one block: out[64] = Σ over pairs of table[pair][index].
void block_generic(const uint8_t* src, int64_t vecs, const uint8_t* lo, const uint8_t* hi, int32_t* out) {
  for (int64_t c = 0; c < kCols; ++c) out[c] = 0;
  for (int64_t v = 0; v < vecs; ++v)
    for (int64_t c = 0; c < kCols; ++c) {
      const uint8_t b = src[v * kCols + c];
      for (int h = 0; h < 2; ++h) {
        const int64_t p = 2 * v + h, e = h ? b >> 4 : b & 0xF;
        out[c] += static_cast<int16_t>(lo[p * 16 + e] | (hi[p * 16 + e] << 8));
      }
    }
}

__attribute__((target("avx512f,avx512bw"))) void block_avx512(const uint8_t* src, int64_t vecs, const uint8_t* lo,
                                                                 const uint8_t* hi, int32_t* out) {
  // acc0 lane L, int16 i: column 16L + i; acc1: column 16L + 8 + i (unpacklo/hi interleave within 128-bit lanes).
  alignas(64) int16_t part[2][32];
  for (int64_t c = 0; c < kCols; ++c) out[c] = 0;
  const __m512i nib = _mm512_set1_epi8(0x0F);
  for (int64_t v0 = 0; v0 < vecs; v0 += kFlush) {
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    const int64_t v1 = std::min(vecs, v0 + kFlush);
    for (int64_t v = v0; v < v1; ++v) {
      const __m512i x = _mm512_load_si512(src + v * kCols);
      const __m512i idx[2] = {_mm512_and_si512(x, nib), _mm512_and_si512(_mm512_srli_epi16(x, 4), nib)};
      for (int h = 0; h < 2; ++h) {
        const int64_t p = 2 * v + h;
        const __m512i tl = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo + p * 16)));
        const __m512i th = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(hi + p * 16)));
        const __m512i l = _mm512_shuffle_epi8(tl, idx[h]), u = _mm512_shuffle_epi8(th, idx[h]);
        acc0 = _mm512_add_epi16(acc0, _mm512_unpacklo_epi8(l, u));
        acc1 = _mm512_add_epi16(acc1, _mm512_unpackhi_epi8(l, u));
      }
    }
    _mm512_store_si512(part[0], acc0);
    _mm512_store_si512(part[1], acc1);
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 32; ++i) out[(i / 8) * 16 + h * 8 + i % 8] += part[h][i];
  }
}

bool use_avx512() { return active_isa() == Isa::kAvx512; }

// acc or y for rows of a (tables built once per row, blocks shared by the threads).
void run(const BitActs& a, const LutMatrix& w, const float* bias, float* y, int32_t* acc) {
  if (a.K != w.K || a.Kp != w.Kp)
    throw Error::usage("lut_gemv: activations have K = " + std::to_string(a.K) + ", weights " + std::to_string(w.K));
  const int64_t M = a.M, N = w.N, pairs = w.Kp / 2, vecs = w.Kp / 4;
  thread_local std::vector<uint8_t> tables;
  tables.resize(static_cast<size_t>(M * pairs * 32));
  uint8_t* const tab = tables.data();  // the caller's: inside the region `tables` is each thread's own
  for (int64_t m = 0; m < M; ++m) build_tables(a.row(m), w.Kp, tab + m * pairs * 32, tab + m * pairs * 32 + pairs * 16);
  const bool fast = use_avx512();
  parallel_tasks(w.blocks, M * N * w.Kp >= (1 << 18), [&](int64_t b) {
    int32_t out[kCols];
    const int64_t n0 = b * kCols, nc = std::min(kCols, N - n0);
    for (int64_t m = 0; m < M; ++m) {
      const uint8_t* lo = tab + m * pairs * 32;
      const uint8_t* src = w.data.data() + b * vecs * kCols;
      if (fast)
        block_avx512(src, vecs, lo, lo + pairs * 16, out);
      else
        block_generic(src, vecs, lo, lo + pairs * 16, out);
      for (int64_t c = 0; c < nc; ++c) {
        if (acc)
          acc[m * N + n0 + c] = out[c];
        else
          y[m * N + n0 + c] = static_cast<float>(out[c]) * w.scale[static_cast<size_t>(n0 + c)] *
                                  a.mul[static_cast<size_t>(m)] + (bias ? bias[n0 + c] : 0.0f);
      }
    }
  });
}

}  // namespace

LutMatrix pack_lut_matrix(const int8_t* codes, int64_t N, int64_t K, const float* scales, bool per_row) {
  LutMatrix w;
  w.N = N;
  w.K = K;
  w.Kp = bit_padded_k(K);
  w.blocks = (N + kCols - 1) / kCols;
  const int64_t vecs = w.Kp / 4;
  w.data.resize(static_cast<size_t>(w.blocks * vecs * kCols));
  w.scale.assign(static_cast<size_t>(w.blocks * kCols), 0.0f);
  auto code = [&](int64_t n, int64_t k) -> int {
    if (n >= N || k >= K) return 0;
    const int c = codes[n * K + k];
    if (c < -1 || c > 1) throw Error::usage("pack_lut_matrix: code " + std::to_string(c) + " is not ternary");
    return c;
  };
  for (int64_t b = 0; b < w.blocks; ++b)
    for (int64_t v = 0; v < vecs; ++v)
      for (int64_t c = 0; c < kCols; ++c) {
        const int64_t n = b * kCols + c, k = 4 * v;
        const int lo = 3 * (code(n, k) + 1) + code(n, k + 1) + 1, hi = 3 * (code(n, k + 2) + 1) + code(n, k + 3) + 1;
        w.data.data()[(b * vecs + v) * kCols + c] = static_cast<uint8_t>(lo | (hi << 4));
      }
  for (int64_t n = 0; n < N; ++n) w.scale[static_cast<size_t>(n)] = scales[per_row ? n : 0];
  return w;
}

void lut_gemv_i32(const BitActs& a, const LutMatrix& w, int32_t* acc) { run(a, w, nullptr, nullptr, acc); }
void lut_gemv(const BitActs& a, const LutMatrix& w, const float* bias, float* y) { run(a, w, bias, y, nullptr); }
const char* lut_gemv_path() { return use_avx512() ? "avx512bw" : "generic"; }

}  // namespace bb
