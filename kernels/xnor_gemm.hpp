#pragma once
// W1A1: binary weights × binary activations by XNOR and popcount. With ±1
// values stored as sign bits (1 = +1), a · w over K inputs is
//   K − 2 · popcount(a ⊕ w)
// (each disagreeing pair is −1, each agreeing +1). Padding bits are 0 in both
// operands, so they agree, never count, and the formula stays exact.
//
// Layout: 64 inputs per word; weights word-major [Kw][Np] so that eight
// output columns' words fill one zmm (vpxorq + vpopcntq + vpaddq serve 512
// multiply-adds, whatever K is); activations [M][Kw], one word broadcast.
#include <cstdint>
#include <vector>

#include "kernels/act_quant.hpp"
#include "kernels/popcount_gemm.hpp"

namespace bb {

struct SignMatrix {
  int64_t N = 0, K = 0, Kw = 0, Np = 0;  // Kw = ceil(K / 64); Np = N rounded up to 32
  AlignedBytes words;                    // uint64 [Kw][Np]
  std::vector<float> scale;              // [Np] per output column, 0 in the padding
  const uint64_t* word_row(int64_t kw) const { return reinterpret_cast<const uint64_t*>(words.data()) + kw * Np; }
  int64_t bytes() const { return static_cast<int64_t>(words.size() + scale.size() * sizeof(float)); }
};
// codes [N, K] of ±1; scales [N] (per_row) or [1]. Error(Usage) on any other code.
SignMatrix pack_sign_matrix(const int8_t* codes, int64_t N, int64_t K, const float* scales, bool per_row);

struct SignActs {
  int64_t M = 0, K = 0, Kw = 0;
  std::vector<uint64_t> words;  // [M][Kw]
  std::vector<float> mul;       // [M] mean|x| (the binary quantiser's step)
};
// Sign bits of binary activation codes (kernels/act_quant.hpp, bits 1) and their step.
void signs_from_acts(const BitActs& a, SignActs& out);
// x [M, K] through the binary activation quantiser, then its sign bits (x > 0 → 1) and mean|x| per row.
void quantize_signs(const float* x, int64_t M, int64_t K, SignActs& out);
// Codes given directly (tests): a [M, K] of ±1; mul = 1.
void set_signs(const int8_t* a, int64_t M, int64_t K, SignActs& out);

// y[M, N] = (K − 2·popcount) · scale[n] · mul[m] + bias[n]; acc variant: the exact dot products.
void xnor_gemm(const SignActs& a, const SignMatrix& w, const float* bias, float* y);
void xnor_gemm_i32(const SignActs& a, const SignMatrix& w, int32_t* acc);
// popcount_path_name(): "avx512-vpopcntdq", "popcnt" (scalar 64-bit popcount, the AVX2 level) or "generic".
const char* xnor_gemm_path();

}  // namespace bb
