#pragma once
// Integer GEMMs on packed low-bit weights, the BitNet inference path:
//   y[M, N] = (Σ_k a[m, k] · w[n, k]) · w_scale[n] · a_mul[m] + bias[n]
// with a the per-token integer codes of the activations (kbit, -128 included
// at A8 absmean, or binary) and w the integer codes of the weights,
// accumulated exactly in int32 and scaled once afterwards (BitScaling). Which
// (weight, activation) pairs run here: kernels/gemm_pairs.hpp.
//
// One trick serves every weight format: codes are stored unsigned as
// u = w + offset (ternary {0, 1, 2}, binary {0, 2}, int4 1..15, int8 1..255),
// so one u8 × s8 dot kernel (vpdpbusd on AVX-512 VNNI) runs them all and the
// offset comes back out with the activation row sums: Σ w·a = Σ u·a − offset·Σ a.
// A format only decides how many bits a stored u takes (its row's
// kernel_bits; binary stores u / 2 in one bit and shifts it back while
// unpacking): kernels/quant_format.hpp.
//
// Kernel layout (BitMatrix::data): output columns in blocks of 16; inside a
// block, one 64-byte vector per 4·(8/bits) inputs. Byte j of a vector holds
// column j / 4, input k0 + 4i + j % 4 for i < 8/bits at bits [i·bits, (i+1)·bits):
// unpacking field i of all 64 bytes (a shift and a mask) yields exactly the
// 16 × 4 bytes one vpdpbusd multiplies against four broadcast activations.
#include <cstdint>
#include <vector>

#include "kernels/act_quant.hpp"
#include "kernels/quant_format.hpp"

namespace bb {

// One Linear's weights, packed once (at load) for the kernels.
struct BitMatrix {
  const WeightFormatTraits* t = nullptr;  // its format row (kernel_bits, offset, ushift)
  int64_t N = 0, K = 0, Kp = 0, blocks = 0;  // blocks = ceil(N / 16)
  AlignedBytes data;                         // [blocks][Kp / (4 · 8/bits)][64]
  std::vector<float> scale;                  // [blocks · 16] per output column (0 in the padding), or [1]: one per matrix
  bool per_column() const { return scale.size() > 1; }
  float scale_at(int64_t n) const { return scale[per_column() ? static_cast<size_t>(n) : 0]; }
  int64_t vectors_per_block() const { return Kp / (32 / t->kernel_bits); }
  int64_t bytes() const { return static_cast<int64_t>(data.size() + scale.size() * sizeof(float)); }
};
// codes [N, K] the format holds (weight_traits(format).holds); scales [N] (per_row) or [1]. Error(Usage) on codes out of range.
BitMatrix pack_bit_matrix(WeightFormat format, const int8_t* codes, int64_t N, int64_t K, const float* scales,
                          bool per_row);
void unpack_bit_matrix(const BitMatrix& w, int8_t* codes);  // codes [N, K]

// y[M, N] = acc · scale[n] · mul[m] + bias[n] (bias may be null). Threads over column blocks.
void bit_gemm(const BitActs& a, const BitMatrix& w, const float* bias, float* y);
// The exact integer result acc[M, N] = Σ_k a · w (tests compare it to the reference).
void bit_gemm_i32(const BitActs& a, const BitMatrix& w, int32_t* acc);
// Plain loops over unpacked codes: a [M, K], codes [N, K].
void bit_gemm_reference(const int8_t* a, const int8_t* codes, int64_t M, int64_t N, int64_t K, int32_t* acc);
// Which path bit_gemm takes now: "avx512-vnni", "avx2" or "generic".
const char* bit_gemm_path();

}  // namespace bb
