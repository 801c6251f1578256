#pragma once
// The integer nonlinearities of an integer-only student (a plan's `integer`;
// docs/LOWBIT.md): softmax and GELU as functions of integer codes and integer
// constants, so the fake-quant training forward and the engine call the same
// function and get the same codes on every ISA path. Float appears only where
// a real step becomes a dyadic multiplier (to_dyadic: once per row, the same
// IEEE operations everywhere) and where codes are dequantised for the float
// parts that remain (the residual stream, the Linears' epilogues).
//
// exp2 by table (I-ViT's Shiftmax takes the exponent by shifts; the table, as
// IntAttention, is as cheap and more exact): for a fixed-point z ≥ 0 with
// kExpFrac fractional bits, z = q·2^F + r,
//   2^(−z/2^F) ≈ kExp2Lut[r] >> q,   kExp2Lut[r] = round(2^15 · 2^(−r/2^F))
// (2^15 at z = 0; F = 8: a 256-entry table, and z's rounding to 2^−9 costs
// at most 0.14 % relative, the table's rounding 2^−16).
//
// Softmax → unsigned probability codes (one row of scores):
//   acc[t] int32 with real score acc[t]·m (m > 0: the q and k steps times 1/√Dh)
//   z[t]  = dyadic(m · log2 e · 2^F) · (max acc − acc[t])     (≥ 0, log2 units)
//   e[t]  = 2^(−z[t]/2^F) in Q15 by the table (the row's maximum: exactly 2^15)
//   cp[t] = min(Q, (e[t] · G + 2^30) >> 31),  G = ⌊IA · 2^23 / Σe⌋,  IA = round(2^8 / α)
// so cp ≈ round(p[t] / α) with p = e / Σe: the codes attention·v multiplies,
// at the plan's probability step α (attention_quant.hpp). p itself is also
// returned (for the backward's straight-through softmax).
//
// GELU → the next Linear's activation codes (rows of fc1's output):
//   x's codes c and step s by the A8 absmax quantiser (act_formats.cpp)
//   GELU(x) ≈ x · σ(1.702 x) (the sigmoid GELU; the student trains with it)
//   u = dyadic(1.702 · log2 e · s · 2^G) · |c| (G = kSigmoidFrac), σ(−|x|) in
//   Q15 by a table over u (kSigmoidLut[u] = round(2^15 / (1 + 2^(u/2^G))),
//   16·2^G entries, 0 past its end), σ(x) = 2^15 − σ(−|x|) for x ≥ 0
//   g = c · σ (int32; real value s · g / 2^15)
//   out = fp32: y = g · (s / 2^15) (the next Linear's own quantiser takes it
//   from there: a SubLN or binary input); out = a k-bit format: requantised
//   per row by its absmax rule in integers:
//   code = (g · R + 2^30) >> 31 clipped to [−Q, Q], R = ⌊Q · 2^31 / max|g|⌋,
//   step = s · max|g| / (Q · 2^15).
#include <array>
#include <cstdint>

#include "kernels/quant_format.hpp"

namespace bb {

constexpr int kExpFrac = 8;      // F: fractional bits of the softmax's log2-domain fixed point
constexpr int kSigmoidFrac = 6;  // G: the same for the GELU's sigmoid (its table has 16·2^G entries)

// m ≈ mult · 2^−shift with mult in [2^30, 2^31) (0 when m ≤ 0); m at most 2^31.
struct Dyadic {
  int64_t mult = 0;
  int shift = 0;
};
Dyadic to_dyadic(double m);
// round(x · m) for x ≥ 0 (half up), in int64; x below 2^31.
inline int64_t dyadic_apply(int64_t x, Dyadic d) {
  return d.shift > 0 ? (x * d.mult + (int64_t{1} << (d.shift - 1))) >> d.shift : x * d.mult;
}

// 2^(−z / 2^F) in Q15 for a fixed-point z ≥ 0 (0 once the shift passes 15).
int32_t int_exp2_neg(int64_t z);

// One row of a softmax on integer scores: acc [T] with real value acc · m,
// probability step alpha (> 0) and Q = 2^b − 1 → codes [T] in [0, Q] and,
// when p is non-null, p [T] = e / Σe as float. Each fast path equals
// int_softmax_row_reference bit for bit.
void int_softmax_row(const int32_t* acc, int64_t T, float m, float alpha, int Q, uint8_t* codes, float* p);
void int_softmax_row_reference(const int32_t* acc, int64_t T, float m, float alpha, int Q, uint8_t* codes, float* p);

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
