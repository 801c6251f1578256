#pragma once
// The element-wise and per-token layers of a ViT, as plain loops with their
// shapes. (The training issue puts each backward next to its forward here.)
#include <cstdint>

namespace bb {

// patches[B, Np, C*P*P] from images[B, C, S, S]: patch p = (py, px) row-major,
// its vector ordered (c, ky, kx) — the order of timm's conv weight [D, C, P, P].
void patchify(const float* images, float* patches, int64_t B, int64_t C, int64_t S, int64_t P);

// out[N, D] = (x - mean) / sqrt(var + eps) * w + b, per row (biased variance, as PyTorch).
void layernorm_forward(const float* x, const float* w, const float* b, float* out, int64_t N, int64_t D, float eps);

// x[n] = 0.5 x (1 + erf(x / sqrt 2)) in place: the exact GELU of timm's default.
void gelu_forward(float* x, int64_t n);

// y[n] += x[n]
void add_inplace(float* y, const float* x, int64_t n);

// x[B, T, D]: prefix tokens (cls, then dist) then patch embeddings[B, Np, D], plus pos[T, D].
void assemble_tokens(const float* patch_emb, const float* cls, const float* dist, const float* pos, float* x, int64_t B,
                     int64_t Np, int64_t D);

}  // namespace bb
