#pragma once
// The integer nonlinearities of an integer-only student (a plan's `integer`;
// docs/LOWBIT.md): softmax and GELU as functions of integer codes and integer
// constants, so the fake-quant training forward and the engine call the same
// function and get the same codes on every ISA path. Float appears only where
// a real step becomes a fixed-point multiplier (once per row, the same IEEE
// operations everywhere) and where codes are dequantised for the float parts
// that remain (the residual stream, the Linears' epilogues).
//
// exp2 by table (I-ViT's Shiftmax takes the exponent by shifts; the table, as
// IntAttention, is as cheap and more exact): for a fixed-point z ≥ 0 with
// kExpFrac fractional bits, z = q·2^F + r,
//   2^(−z/2^F) ≈ lut[r] >> q,   lut[16a + b] = (hi[a] · lo[b] + 2^14) >> 15,
//   hi[a] = round(2^15 · 2^(−a/16)), lo[b] = round(2^15 · 2^(−b/2^F))
// (2^15 at z = 0; F = 8: 256 values from two 16-entry tables, which AVX-512
// holds in registers instead of gathering; z's rounding to 2^−9 costs at
// most 0.14 % relative, the tables' rounding under 2^−14).
//
// Every per-element step is int32 arithmetic (vectorised; the GELU's table
// by gathers); int64 and divisions appear once per row.
//
// Softmax → unsigned probability codes (one row of scores):
//   acc[t] int32 with real score acc[t]·m (m > 0: the q and k steps times 1/√Dh)
//   M = round(m · log2 e · 2^F · 2^19) (at most 2^26), d[t] = min(max acc − acc[t], dmax)
//   z[t]  = (d[t] · M + 2^18) >> 19            (≥ 0, log2 units · 2^F; dmax keeps it in
//                                               int32 and still past the table's reach)
//   e[t]  = 2^(−z[t]/2^F) in Q15 by the table, 0 once the shift reaches 15
//           (the row's maximum: exactly 2^15)
//   G = ⌊IA · 2^23 / Σe⌋ with IA = round(2^8 / α), cut to 16 bits: G16 = G >> r, S = 31 − r
//   cp[t] = min(Q, (e[t] · G16 + 2^(S−1)) >> S)   (unsigned 32-bit)
// so cp ≈ round(p[t] / α) with p = e / Σe: the codes attention·v multiplies,
// at the plan's probability step α (attention_quant.hpp). p itself is also
// returned (for the backward's straight-through softmax).
//
// GELU → the next Linear's activation codes (rows of fc1's output):
//   x's codes c and step s by the A8 absmax quantiser (act_formats.cpp)
//   GELU(x) ≈ x · σ(1.702 x) (the sigmoid GELU; the student trains with it)
//   u = (|c| · Mg + 2^(Sg−1)) >> Sg with Mg · 2^−Sg = 1.702 · log2 e · s · 2^G
//   (G = kSigmoidFrac; Mg 22 bits, once per row), σ(−|x|) in Q15 by a table
//   over min(u, 17·2^G − 1) (kSigmoidLut[u] = round(2^15 / (1 + 2^(u/2^G))),
//   whose last entry is 0), σ(x) = 2^15 − σ(−|x|) for x ≥ 0
//   g = c · σ (int32; real value s · g / 2^15)
//   out = fp32: y = g · (s / 2^15) (the next Linear's own quantiser takes it
//   from there: a SubLN or binary input); out = a k-bit format: requantised
//   per row by its absmax rule in integers:
//   code = (g · R + 2^30) >> 31 clipped to [−Q, Q], R = ⌊Q · 2^31 / max|g|⌋,
//   step = s · max|g| / (Q · 2^15).
#include <cstdint>

#include "kernels/quant_format.hpp"

namespace bb {

constexpr int kExpFrac = 8;      // F: fractional bits of the softmax's log2-domain fixed point
constexpr int kSigmoidFrac = 6;  // G: the same for the GELU's sigmoid (its table has 17·2^G entries)
constexpr int kScoreShift = 19;  // the softmax's score multiplier M carries 19 fractional bits

// 2^(−z / 2^F) in Q15 for a fixed-point z ≥ 0 (0 once the shift reaches 15).
int32_t int_exp2_neg(int64_t z);

// One row of a softmax on integer scores: acc [T] with real value acc · m,
// probability step alpha (> 0) and Q = 2^b − 1 → codes [T] in [0, Q] and,
// when p is non-null, p [T] = e / Σe as float. Each fast path equals
// int_softmax_row_reference bit for bit.
void int_softmax_row(const int32_t* acc, int64_t T, float m, float alpha, int Q, uint8_t* codes, float* p);
void int_softmax_row_reference(const int32_t* acc, int64_t T, float m, float alpha, int Q, uint8_t* codes, float* p);
// A head's rows at once (inference: no p): acc [rows, lda], row i's scale
// m[i], codes [rows, ldc]; each row as int_softmax_row.
void int_softmax_rows(const int32_t* acc, int64_t rows, int64_t T, int64_t lda, const float* m, float alpha, int Q,
                      uint8_t* codes, int64_t ldc);

// Rows of x [M, K] (fc1's output) → GELU. out k-bit: requantised for the next
// Linear at that format (absmax rule): codes [M, ld] (zero from K to ld),
// step [M] (the value of one code), sum [M] (Σ codes), and y [M, K] (may be
// null) = codes · step, what the fake-quant forward multiplies. out fp32: y
// only (codes, step, sum unused). Error(Usage) for a binary out. Rows in
// parallel chunks; each row as int_gelu_row_reference (codes, step, sum, y: one row).
void int_gelu_rows(const float* x, int64_t M, int64_t K, ActFormat out, int64_t ld, int8_t* codes, float* step,
                   int32_t* sum, float* y);
void int_gelu_row_reference(const float* x, int64_t K, ActFormat out, int8_t* codes, float* step, int32_t* sum,
                            float* y);
// The function the integer GELU approximates, x · σ(1.702 x), and its
// derivative (the backward's straight-through GELU).
float sigmoid_gelu(float x);
float sigmoid_gelu_grad(float x);
// dx[i] = dout[i] · sigmoid_gelu_grad(x[i]) (dx may alias dout).
void sigmoid_gelu_backward(const float* x, const float* dout, float* dx, int64_t n);
// What int_gelu_rows hands a Linear whose activations are `next`: codes at
// `next` when it is k-bit and its input is not first normalised (SubLN); else
// fp32 (its own quantiser takes y: requantising first would round twice).
ActFormat int_gelu_out_format(ActFormat next, bool subln);

}  // namespace bb
