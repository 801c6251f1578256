#pragma once
// Activations quantised per token for the integer kernels, by the activation
// format's one quantiser (kernels/quant_format.hpp: the fake-quant forward
// dequantises the same codes, so training and inference agree bit for bit).
#include <cstdint>
#include <vector>

#include "kernels/aligned_bytes.hpp"
#include "kernels/quant_format.hpp"

namespace bb {

// Inputs are padded to a multiple of this (zero activations, code 0 weights).
constexpr int64_t kBitKAlign = 32;
inline int64_t bit_padded_k(int64_t K) { return (K + kBitKAlign - 1) / kBitKAlign * kBitKAlign; }

struct BitActs {
  int64_t M = 0, K = 0, Kp = 0;
  ActFormat format = ActFormat::kInt8;  // the codes' format (its row: range, unsigned form)
  AlignedBytes q;            // int8 codes [M, Kp], zero padded
  std::vector<float> mul;    // [M] the value of one code step (1 / s; binary: mean|x|)
  std::vector<int32_t> sum;  // [M] Σ_k codes
  const int8_t* row(int64_t m) const { return reinterpret_cast<const int8_t*>(q.data()) + m * Kp; }
  // Sized for M rows of K codes of `f` (Kp padded; contents not kept); returns the codes.
  int8_t* reshape(int64_t rows, int64_t cols, ActFormat f) {
    M = rows;
    K = cols;
    Kp = bit_padded_k(cols);
    format = f;
    q.resize(static_cast<size_t>(M * Kp));
    mul.resize(static_cast<size_t>(M));
    sum.resize(static_cast<size_t>(M));
    return reinterpret_cast<int8_t*>(q.data());
  }
};
// x [M, K] → codes of `format` (kbit: its step by `scale`'s rule, codes in
// [-Q-1, Q]: absmax stops at -Q, absmean reaches -Q-1, i.e. -128 at A8;
// binary: ±1). Error(Usage) for fp32.
// subln_eps ≥ 0: each row is first normalised by a LayerNorm without affine
// parameters (BitNet's SubLN) with that eps — kernels/layernorm.hpp's body,
// so the codes equal LayerNorm-then-quantise exactly. Rows in parallel chunks.
void quantize_acts(const float* x, int64_t M, int64_t K, ActFormat format, BitActs& out, float subln_eps = -1,
                   ActScale scale = ActScale::kAbsMax);
// A8 codes given directly (tests, benchmarks): a [M, K], any int8 value
// (-128 included, as absmean produces it); mul = 1.
void set_acts(const int8_t* a, int64_t M, int64_t K, BitActs& out);

}  // namespace bb
