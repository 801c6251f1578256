#pragma once
// Self-attention for short sequences (ViTs on small images: T of a few dozen),
// one head at a time, on the fused qkv layout of Backend::attention. A head's
// K, V (and Q for backward) are first copied into small contiguous tiles, so
// every inner loop is a unit-stride vector loop over T or Dh; a head's whole
// work stays in L1. The batched-GEMM route spends most of its time in call and
// packing overhead at these sizes (measured in bench_vit / bench_train).
#include <cstdint>

namespace bb {

// Same contract as Backend::attention: qkv [B, T, 3, H, Dh], probs [B, H, T, T]
// (softmax saved for backward; null in inference), out [B, T, H, Dh].
void attention_fused(const float* qkv, float* probs, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh,
                     float scale);

// Same contract as Backend::attention_backward (no scratch needed): dqkv is overwritten.
void attention_fused_backward(const float* qkv, const float* probs, const float* dout, float* dqkv, int64_t B,
                              int64_t T, int64_t H, int64_t Dh, float scale);

}  // namespace bb
