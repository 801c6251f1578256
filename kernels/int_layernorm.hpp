#pragma once
// The integer LayerNorm of integer-only students (a plan's `int_layernorm`;
// I-ViT's I-LayerNorm): a block's LayerNorm, BitNet's SubLN after it and the
// next Linear's activation quantiser as one function of integer codes, with
// integer statistics and an integer square root. Its output is the Linear's
// input codes, so the engine hands them to the GEMM with no fp32 round trip,
// and the fake-quant training forward multiplies the same codes by the same
// step (so both run this one function).
//
// One row x [D] of the fp32 residual stream (the stream itself stays fp32:
// docs/LOWBIT.md says why), γ, β [D]:
//   c  = rint(x · 2^(13 − E)), E = ⌊log2 max|x|⌋        (|c| ≤ 2^14: the row at a power-of-two step)
//   norm(c):  S = Σc, d = D·c − S (exactly D·(c − mean)), V = Σd² (uint64)
//             σ = isqrt(⌊V / D⌋) (Newton, integers only: ≈ D·std(c))
//             n = (d · ⌊2^42 / σ⌋ + 2^31) >> 32        (≈ 2^10 · (c − mean) / std; 0 when σ = 0)
//   y  = n · γq + βq (int64), γq = rint(γ · 2^G), βq = rint(β · 2^(10 + G)) with
//        G = min(40, 14 − ⌊log2 max|γ|⌋, 39 − ⌊log2 max|β|⌋) (|γq| ≤ 2^15, |βq| ≤ 2^50);
//        y ≈ LayerNorm(x) · 2^(10 + G)
//   SubLN (plan's subln): c2 = y shifted (rounding) to |c2| ≤ 2^14, v = norm(c2), v's unit 2^−10
//   else:                 v = y shifted (rounding) to |v| ≤ 2^30, its unit 2^(k − 10 − G)
//   codes = clip((v · R + 2^30) >> 31, −Q, Q), R = ⌊Q · 2^31 / max|v|⌋   (the absmax rule, Q = the format's qmax)
//   step  = (float(max|v|) / Q) · unit                  (the value of one code; once per row, in floats)
// LayerNorm's eps is left out: every step above is invariant to the row's
// scale, where eps moves a row whose variance is within ~100× of it. A row of
// equal values, of zeros or with max|x| below 2^−100 normalises to 0, as the
// float LayerNorm's does, so its output is β's codes; a row holding a value
// that is not finite gives codes 0 and step 0.
// Against the float pipeline (LayerNorm, SubLN, quantiser) a code differs by
// at most one and the step by under 2^−8 relative (tests measure both).
#include <cstdint>
#include <vector>

#include "kernels/act_quant.hpp"
#include "kernels/quant_format.hpp"

namespace bb {

constexpr int kIntLnFrac = 10;      // fractional bits of the normalised values n
constexpr int64_t kIntLnMaxD = 2048;  // keeps Σd² within 64 bits

// γ and β as the integer function holds them (once per call).
struct IntLnAffine {
  int G = 0;                    // γq = rint(γ · 2^G)
  std::vector<int32_t> gamma;   // [D]
  std::vector<int64_t> beta;    // [D] at 2^−(10 + G)
};
IntLnAffine int_ln_affine(const float* gamma, const float* beta, int64_t D);

// Rows of x [M, D] → acts (codes [M, Kp] of `format`, zero padded; step and
// code sum per row) and, when xq is non-null, xq [M, D] = codes · step (what
// the fake-quant forward multiplies). format: a k-bit format (A8, A4, A2);
// Error(Usage) otherwise or for D > kIntLnMaxD. Rows in parallel chunks;
// every path equals int_layernorm_row_reference bit for bit.
void int_layernorm_acts(const float* x, const float* gamma, const float* beta, int64_t M, int64_t D, bool subln,
                        ActFormat format, BitActs& acts, float* xq = nullptr);
// One row, plain scalar loops: codes [D], *step, *sum.
void int_layernorm_row_reference(const float* x, const IntLnAffine& affine, int64_t D, bool subln, int Q,
                                 int8_t* codes, float* step, int32_t* sum);
// ⌊√v⌋ by Newton's iteration on integers.
uint64_t isqrt_u64(uint64_t v);

}  // namespace bb
