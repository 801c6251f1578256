#pragma once
// Lookup-table GEMV for ternary weights (the T-MAC / bitnet.cpp "TL1" idea),
// exact: for each pair of inputs (a0, a1) of a row, a 16-entry table holds the
// nine possible dot products w0·a0 + w1·a1 (w ∈ {-1, 0, 1}), and each weight
// pair is stored as its 4-bit table index 3·(w0+1) + (w1+1). A byte shuffle
// (vpshufb) then looks up 64 output columns' pair products at once; entries are
// int16 (|value| ≤ 254), kept as a low-byte and a high-byte table.
//
// Test-only (tests/test_bit_gemm.cpp, bench/bench_kernels.cpp): kept as a
// measured alternative for M ≤ 8 (bench_kernels' BM_LutGemv): on AVX-512 VNNI
// one vpdpbusd does 64 multiply-adds, the table path about 18 per
// instruction, so bit_gemm stays the engine's path (kernels/gemm_pairs.hpp).
// Activation codes in [-127, 127] (absmax; the int16 table entries assume it).
#include <cstdint>
#include <vector>

#include "kernels/bit_gemm.hpp"

namespace bb {

struct LutMatrix {
  int64_t N = 0, K = 0, Kp = 0, blocks = 0;  // blocks = ceil(N / 64); Kp = bit_padded_k(K)
  AlignedBytes data;                         // [blocks][Kp / 4][64]: byte c = pair 2v (low nibble), 2v+1 (high) of column c
  std::vector<float> scale;                  // [blocks · 64]
  int64_t bytes() const { return static_cast<int64_t>(data.size() + scale.size() * sizeof(float)); }
};
// codes [N, K] in {-1, 0, 1}; scales [N] (per_row) or [1]. Error(Usage) on other codes.
LutMatrix pack_lut_matrix(const int8_t* codes, int64_t N, int64_t K, const float* scales, bool per_row);

// acc[M, N] = Σ_k a · w exactly; rows one at a time (meant for M ≤ 8).
void lut_gemv_i32(const BitActs& a, const LutMatrix& w, int32_t* acc);
// y[M, N] = acc · scale[n] · mul[m] + bias[n] (bias may be null).
void lut_gemv(const BitActs& a, const LutMatrix& w, const float* bias, float* y);
// "avx512bw" or "generic".
const char* lut_gemv_path();

}  // namespace bb
