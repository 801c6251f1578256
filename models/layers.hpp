#pragma once
// The element-wise and per-token layers of a ViT, as plain loops with their
// shapes. (The training issue puts each backward next to its forward here.)
#include <cstdint>

namespace bb {

// patches[B, Np, C*P*P] from images[B, C, S, S]: patch p = (py, px) row-major,
// its vector ordered (c, ky, kx) — the order of timm's conv weight [D, C, P, P].
void patchify(const float* images, float* patches, int64_t B, int64_t C, int64_t S, int64_t P);

// out[N, D] = (x - mean) / sqrt(var + eps) * w + b, per row (biased variance, as PyTorch).
// mean, rstd [N] are stored for the backward pass when non-null.
void layernorm_forward(const float* x, const float* w, const float* b, float* out, int64_t N, int64_t D, float eps,
                       float* mean = nullptr, float* rstd = nullptr);
// dx[N, D] += ..., dw[D] += ..., db[D] += ... from dout[N, D] and the saved x, mean, rstd.
void layernorm_backward(const float* dout, const float* x, const float* w, const float* mean, const float* rstd,
                        float* dx, float* dw, float* db, int64_t N, int64_t D);

// out[n] = 0.5 x (1 + erf(x / sqrt 2)): the exact GELU of timm's default (out may equal x).
void gelu_forward(const float* x, float* out, int64_t n);
// dx[n] = dout[n] * GELU'(x[n]) (dx may equal dout).
void gelu_backward(const float* x, const float* dout, float* dx, int64_t n);

// out[n] = a[n] + b[n] (out may equal a). Backward of a residual: the gradient goes to both.
void add(const float* a, const float* b, float* out, int64_t n);

// Low-bit students' per-channel operations around a block Linear y[M, N] =
// x[M, K] · W^T (ViTConfig rsign / bireal / rprelu; docs/LOWBIT.md). Parameter
// gradients are summed over fixed chunks of rows, then the chunks in order: the same
// floats whatever the thread count.
//
// RSign's shift: out[M, K] = x - shift[k]. Backward (dx = dout): dshift[k] -= Σ_m dout[m, k].
void channel_shift_forward(const float* x, const float* shift, float* out, int64_t M, int64_t K);
void channel_shift_backward(const float* dout, float* dshift, int64_t M, int64_t K);
// Bi-Real's real-valued shortcut: y[m, n] += S(x)[m, n] with
//   N ≥ K (qkv, fc1, proj): S(x)[n] = x[n mod K]
//   N < K (fc2):            S(x)[n] = mean of x[n], x[n + N], ... (those below K)
// Backward: dx[M, K] += Sᵀ(dy).
void bireal_shortcut_forward(const float* x, float* y, int64_t M, int64_t N, int64_t K);
void bireal_shortcut_backward(const float* dy, float* dx, int64_t M, int64_t N, int64_t K);
// RPReLU in place on y[M, N]: z = y - γ[n]; y = (z > 0 ? z : β[n] z) + ζ[n];
// z [M, N] saved for backward when non-null.
void rprelu_forward(float* y, const float* gamma, const float* beta, const float* zeta, float* z, int64_t M, int64_t N);
// dy[M, N] = dout · (z > 0 ? 1 : β) (dy apart from dout); dγ -= Σ_m dy; dβ += Σ_m dout · z [z ≤ 0]; dζ += Σ_m dout.
void rprelu_backward(const float* dout, const float* z, const float* beta, float* dy, float* dgamma, float* dbeta,
                     float* dzeta, int64_t M, int64_t N);

// x[B, T, D]: prefix tokens (cls, then dist) then patch embeddings[B, Np, D], plus pos[T, D].
void assemble_tokens(const float* patch_emb, const float* cls, const float* dist, const float* pos, float* x, int64_t B,
                     int64_t Np, int64_t D);
// From dx[B, T, D]: dpatch_emb[B, Np, D] = dx of patch tokens; dcls, ddist [D] and dpos [T, D] summed over
// the batch (accumulated: +=). Null outputs are skipped.
void assemble_tokens_backward(const float* dx, float* dpatch_emb, float* dcls, float* ddist, float* dpos, int64_t B,
                              int64_t Np, int64_t D, int64_t prefix);

// Mean cross-entropy over B rows of logits[B, K] against labels with label
// smoothing eps (target = (1 - eps) one-hot + eps / K). Writes probs and, when
// dlogits is non-null, d(loss)/d(logits) = (probs - target) / B. Returns the loss.
float cross_entropy(const float* logits, const int* labels, float* probs, float* dlogits, int64_t B, int64_t K,
                    float smoothing);

}  // namespace bb
