#pragma once
// Self-attention with its two matmuls on integer codes (a plan's attn_qk /
// attn_pv; docs/LOWBIT.md), forward and backward side by side. Training and
// inference (the fake-quant runner and the integer engine alike) call the
// same forward, so a student's attention is the same arithmetic in both.
//
// Per image b and head h, with q, k, v [T, Dh] the head's slices of qkv:
//   q·kᵀ (qk = an activation format, per token rows, the plan's step rule):
//     cq, sq = quantise(q); ck, sk = quantise(k)           codes [T, Dh], steps [T]
//     s[i, t] = float(Σ_d cq[i, d] ck[t, d]) · (sq[i] · sk[t]) · scale   (int32 sum)
//   softmax per row → p [T, T] (float, as the fp32 attention)
//   attention·v (pv = a format of b bits):
//     probabilities: unsigned codes cp = clip(round(p / α), 0, 2^b − 1), α the
//       head's step (below); v: codes per channel over the tokens,
//       cv, sv = quantise(vᵀ) [Dh, T], [Dh] (a channel's step is shared by
//       every token it is summed over, so the sum stays integer)
//     out[i, j] = float(Σ_t cp[i, t] cv[j, t]) · (α · sv[j])
// An fp32 side runs as the float attention (q · scale first, sums in d / t
// order). With int_softmax: sk is one step per head (k quantised as one row),
// the softmax is int_softmax_row on s's integer sums with m = sq[i]·sk·scale,
// and its codes are cp; probs then holds the integer softmax's p = e / Σe.
//
// The probability step: α = base · max(prob_scale[h], 0.01), base =
// min(1 / (2^b − 1), 2 / T): at most the uniform step over [0, 1], and for
// few bits twice the uniform attention weight 1/T, so that a binary map keeps
// the tokens a row attends to more than on average (softmax probabilities are
// long-tailed: a [0, 1] grid of 1 or 2 bits zeroes nearly all of them).
// prob_scale [H] is Bi-ViT's learnable attention scale (ViTConfig
// attn_prob_scale, starting at 1); without it the factor is 1.
//
// Backward (straight-through): the gradients of q̂, k̂, v̂ (the dequantised
// codes) pass to q, k, v and that of p̂ to p unchanged (with int_softmax, p̂
// is recomputed as α·clip(round(p/α)) from the saved p = e/Σe: within a code
// of the forward's, and only the backward uses it); α gets LSQ's gradient
// Σ dp̂ · (p/α > Q ? Q : cp − p/α), times base into prob_scale.
#include <cstdint>

#include "kernels/quant_format.hpp"

namespace bb {

struct AttnQuant {
  ActFormat qk = ActFormat::kF32;  // q and k
  ActFormat pv = ActFormat::kF32;  // the probabilities (unsigned, same bits) and v
  ActScale rule = ActScale::kAbsMax;
  // Integer softmax (int_ops.hpp; both sides quantised): k at one step per
  // (image, head) so that a row of scores shares one real scale, the
  // probability codes straight from the integer exponent.
  bool int_softmax = false;
  bool any() const { return qk != ActFormat::kF32 || pv != ActFormat::kF32; }
};

// The base probability step for pv's bits at T tokens (see above).
float attn_prob_base_step(ActFormat pv, int64_t T);
// Head h of image b out of qkv [B, T, 3, H, Dh]: q, k [T, Dh] and vᵀ [Dh, T]
// (every attention on codes starts from these copies).
void attn_gather_head(const float* qkv, int64_t b, int64_t h, int64_t T, int64_t H, int64_t Dh, float* q, float* k,
                      float* vt);
// Head h's probability step α (prob_scale [H] or null).
float attn_prob_step(const AttnQuant& aq, const float* prob_scale, int64_t h, int64_t T);

// qkv [B, T, 3, H, Dh] → out [B, T, H, Dh]. Training: probs [B, H, T, T]
// (the softmax before its quantiser) and qkv_hat [B, T, 3, H, Dh] (q̂, k̂, v̂ as
// the matmuls saw them) are written when non-null. prob_scale [H] or null.
// softmax_seconds (or null): int_attention_forward's softmax time is added
// there when inference takes it (int_attention.hpp).
void attention_quant_forward(const float* qkv, const AttnQuant& aq, const float* prob_scale, float* probs,
                             float* qkv_hat, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh, float scale,
                             double* softmax_seconds = nullptr);
// From the saved qkv_hat and probs: dqkv [B, T, 3, H, Dh] (overwritten) and
// dprob_scale [H] (+=, when both it and prob_scale are non-null).
// dprobs_extra [B, H, T, T] (or null): a gradient at the probabilities from
// another loss (an attention-map distillation term), added to the one from
// the output before the softmax's backward. (With an fp32 AttnQuant this is
// the float attention's backward, qkv_hat being qkv itself.)
void attention_quant_backward(const float* qkv_hat, const float* probs, const float* dout, const AttnQuant& aq,
                              const float* prob_scale, float* dqkv, float* dprob_scale, int64_t B, int64_t T,
                              int64_t H, int64_t Dh, float scale, const float* dprobs_extra = nullptr);

}  // namespace bb
