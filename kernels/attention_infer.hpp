#pragma once
// Inference self-attention for ViT-sized heads (T ≈ 197, Dh = 64), one
// (image, head) per task, or (image, head, block of query rows) when there are
// fewer heads than threads: K is transposed and V copied into contiguous tiles
// once per task (L2-resident), 8 query rows at a time
// compute their scores [8, Tp] into an L1 tile (16 accumulators: 8 rows × 32
// columns), the softmax runs on the tile, and the tile times V gives the
// output rows — no T × T probabilities are written (inference keeps none).
// The arithmetic per element is that of kernels/attention_fused.hpp: q · scale
// first, FMA chains in k order, the same softmax.
//
// Measured (bench_vit BM_AttentionInference, x_onednn: the batched oneDNN
// route's time over this kernel's, 7 interleaved rounds in one process): 0.84–0.89
// at T 197, Dh 64 on this 2-core VM — slower, so the oneDNN backend does not
// use it; kept, tested on every ISA path, as the measured alternative.
#include <cstdint>

namespace bb {

// qkv [B, T, 3, H, Dh] → out [B, T, H, Dh]; threads over (image, head, row block).
void attention_infer(const float* qkv, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh, float scale);

}  // namespace bb
