#include "models/vit.hpp"

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "models/layers.hpp"

namespace bb {

ViTRunner::ViTRunner(const ViTParams& params, Backend& backend) : p_(params), be_(backend) {}

void ViTRunner::reserve(int64_t B) {
  if (B == batch_) return;
  const ViTConfig& c = p_.cfg;
  const int64_t T = c.tokens(), D = c.embed_dim, Np = c.num_patches(), H = c.num_heads;
  const int64_t sizes[] = {B * Np * c.patch_dim(), B * Np * D, B * T * D,     B * T * D, B * T * 3 * D, B * H * T * T,
                           B * T * D,              B * T * D,  B * T * c.mlp_hidden, 2 * B * D, 2 * B * c.num_classes};
  int64_t total = 0;
  for (int64_t s : sizes) total += (s + 15) / 16 * 16;  // keep every buffer 64-byte aligned
  arena_.resize(Shape{total});
  float* at = arena_.data();
  float** slots[] = {&patches_, &pemb_, &x_, &ln_, &qkv_, &scores_, &att_, &tmp_, &hid_, &pooled_, &logits_};
  for (size_t i = 0; i < std::size(sizes); ++i) {
    *slots[i] = at;
    at += (sizes[i] + 15) / 16 * 16;
  }
  batch_ = B;
}

TensorView ViTRunner::forward(const TensorView& images) {
  const ViTConfig& c = p_.cfg;
  const int64_t B = images.dim(0);
  if (images.shape().rank() != 4 || images.dim(1) != c.in_chans || images.dim(2) != c.img_size ||
      images.dim(3) != c.img_size)
    throw Error::usage("model expects images [B, " + std::to_string(c.in_chans) + ", " + std::to_string(c.img_size) +
                       ", " + std::to_string(c.img_size) + "], got " + images.shape().str());
  reserve(B);
  const int64_t T = c.tokens(), D = c.embed_dim, Np = c.num_patches(), H = c.num_heads, Dh = c.head_dim();
  const int64_t Hm = c.mlp_hidden, K = c.num_classes, BT = B * T;
  const float eps = static_cast<float>(c.ln_eps);
  auto tap = [&](size_t i, const float* src) {
    if (!taps_) return;
    if (taps_->size() <= i) taps_->resize(i + 1);
    (*taps_)[i].resize(Shape{B, T, D});
    std::memcpy((*taps_)[i].data(), src, static_cast<size_t>(BT * D) * sizeof(float));
  };

  // Patch embedding: a conv with stride = kernel = P is a GEMM over patches.
  patchify(images.data(), patches_, B, c.in_chans, c.img_size, c.patch_size);  // [B, Np, C*P*P]
  be_.linear(patches_, p_.patch_w, p_.patch_b, pemb_, B * Np, D, c.patch_dim());  // [B, Np, D]
  assemble_tokens(pemb_, p_.cls_token, p_.dist_token, p_.pos_embed, x_, B, Np, D);  // [B, T, D]
  tap(0, x_);

  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  for (int l = 0; l < c.depth; ++l) {
    const BlockParams& w = p_.blocks[static_cast<size_t>(l)];
    // x = x + proj(attn(norm1(x)))
    layernorm_forward(x_, w.norm1_w, w.norm1_b, ln_, BT, D, eps);  // [B, T, D]
    be_.linear(ln_, w.qkv_w, w.qkv_b, qkv_, BT, 3 * D, D);          // [B, T, 3D]
    be_.attention(qkv_, scores_, att_, B, T, H, Dh, scale);         // [B, T, D]
    be_.linear(att_, w.proj_w, w.proj_b, tmp_, BT, D, D);           // [B, T, D]
    add_inplace(x_, tmp_, BT * D);
    // x = x + fc2(gelu(fc1(norm2(x))))
    layernorm_forward(x_, w.norm2_w, w.norm2_b, ln_, BT, D, eps);  // [B, T, D]
    be_.linear(ln_, w.fc1_w, w.fc1_b, hid_, BT, Hm, D);             // [B, T, Hm]
    gelu_forward(hid_, BT * Hm);
    be_.linear(hid_, w.fc2_w, w.fc2_b, tmp_, BT, D, Hm);            // [B, T, D]
    add_inplace(x_, tmp_, BT * D);
    tap(static_cast<size_t>(l) + 1, x_);
  }

  float* logits = logits_;
  if (c.global_pool == "avg") {
    // timm: mean over patch tokens, then fc_norm.
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d) {
        float s = 0;
        for (int64_t t = c.num_prefix(); t < T; ++t) s += x_[(b * T + t) * D + d];
        tmp_[b * D + d] = s / static_cast<float>(Np);
      }
    layernorm_forward(tmp_, p_.norm_w, p_.norm_b, pooled_, B, D, eps);  // [B, D]
    be_.linear(pooled_, p_.head_w, p_.head_b, logits, B, K, D);        // [B, K]
  } else {
    layernorm_forward(x_, p_.norm_w, p_.norm_b, ln_, BT, D, eps);  // [B, T, D]
    tap(static_cast<size_t>(c.depth) + 1, ln_);
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(pooled_ + b * D, ln_ + b * T * D, static_cast<size_t>(D) * sizeof(float));  // cls token
      if (c.distilled) std::memcpy(pooled_ + (B + b) * D, ln_ + (b * T + 1) * D, static_cast<size_t>(D) * sizeof(float));
    }
    be_.linear(pooled_, p_.head_w, p_.head_b, logits, B, K, D);  // [B, K]
    if (c.distilled) {
      float* ld = logits_ + B * K;
      be_.linear(pooled_ + B * D, p_.head_dist_w, p_.head_dist_b, ld, B, K, D);  // [B, K]
      for (int64_t i = 0; i < B * K; ++i) logits[i] = 0.5f * (logits[i] + ld[i]);
    }
  }
  return TensorView(logits, Shape{B, K});
}

}  // namespace bb
