#pragma once
// The inference attention of an integer-only student (a plan's `integer`;
// attention_quant.hpp with int_softmax): the same codes and the same floats as
// attention_quant_forward, with both matmuls as u8 × s8 dot products laid out
// for VNNI (vpdpbusd: 64 multiply-adds an instruction), AVX2 (vpmaddwd on
// widened codes) and a generic loop:
//   q·kᵀ:        acc[i, t] = Σ_d (cq[i, d] + 128) · ck[t, d] − 128 · Σ_d ck[t, d]
//   attention·v: acc[i, j] = Σ_t cp[i, t] · cv[j, t]   (probability codes are unsigned)
// with the integer softmax (int_ops.hpp) between them. Training, and any call
// that asks for the probabilities, runs attention_quant_forward's loops.
#include <cstdint>

#include "kernels/attention_quant.hpp"

namespace bb {

// Whether int_attention_forward serves these formats (int_softmax, both sides quantised).
bool int_attention_serves(const AttnQuant& aq);
// qkv [B, T, 3, H, Dh] → out [B, T, H, Dh]; prob_scale [H] or null.
// softmax_seconds (or null): the softmax's seconds, summed over the tasks and
// divided by the threads that ran them, are added there (a profile).
void int_attention_forward(const float* qkv, const AttnQuant& aq, const float* prob_scale, float* out, int64_t B,
                           int64_t T, int64_t H, int64_t Dh, float scale, double* softmax_seconds = nullptr);

// The dot-product kernel alone (tests): C[m, n] = Σ_k a[m, k] · b[n, k] for
// a [M, K] unsigned and b [N, K] signed, through the packed layout and the
// active ISA path; C [M, N].
void int_dot_u8s8(const uint8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K, int32_t* c);
// "avx512-vnni", "avx2" or "generic": the path int_dot_u8s8 takes now.
const char* int_dot_path();

}  // namespace bb
