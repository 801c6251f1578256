#include "models/vit.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/timer.hpp"
#include "kernels/int_layernorm.hpp"
#include "kernels/int_ops.hpp"
#include "models/layers.hpp"

namespace bb {

ViTRunner::ViTRunner(const ViTParams& params, Backend& backend, bool training, const QuantPlan* plan,
                     IntModel* engine)
    : p_(params), be_(backend), training_(training), engine_(engine) {
  if (plan && plan->any()) plan_ = *plan;
  if (engine_ && training_) throw Error::usage("the integer engine runs inference only");
  setup_quant();
}

void ViTRunner::setup_quant() {
  const ViTConfig& c = p_.cfg;
  if (!plan_.blocks.empty() && static_cast<int>(plan_.blocks.size()) != c.depth)
    throw Error::usage("quant plan has " + std::to_string(plan_.blocks.size()) + " blocks, the model " +
                       std::to_string(c.depth));
  const int64_t D = c.embed_dim, Hm = c.mlp_hidden;
  if (engine_ && !engine_->blocks.empty() && engine_->blocks.size() != static_cast<size_t>(c.depth))
    throw Error::usage("integer engine and model differ in depth");
  qblocks_.assign(static_cast<size_t>(c.depth), {});
  for (const PlannedLinear& l : plan_linears(c, plan_)) {
    QLinear& q = qlinear_at(l);
    q.spec = l.spec;
    if (l.site == LinearSite::kBlock && l.spec.quantized()) {
      const BlockParams& w = p_.blocks[static_cast<size_t>(l.block)];
      q.shift = w.act_shift[l.slot];
      q.rp_in = w.rprelu_in[l.slot];
      q.rp_slope = w.rprelu_slope[l.slot];
      q.rp_out = w.rprelu_out[l.slot];
      q.bireal = c.bireal;
    }
    if (engine_ && (l.site != LinearSite::kBlock || !engine_->blocks.empty())) q.engine = engine_->at(l).get();
    // Fake-quant scratch only where this runner quantises the weights itself
    // (not on the engine, not for a packed file's already-quantised weights).
    if (!l.spec.quantized() || q.engine || plan_.weights_quantized) continue;
    q.codes.resize(static_cast<size_t>(l.N * l.K));
    q.wq.resize(static_cast<size_t>(l.N * l.K));
    q.scales.resize(static_cast<size_t>(l.N));
  }
  // The dist head's slot carries the head's spec even without a dist token
  // (it is never run then; the arena keeps its input slot, as it always has).
  if (!c.distilled) qhead_dist_.spec = plan_.head;
  attn_q_ = AttnQuant{plan_.attn_qk, plan_.attn_pv, plan_.act_scale, plan_.integer};
  if (plan_.int_layernorm)
    for (size_t l = 0; l < qblocks_.size(); ++l)
      for (int slot : {kQkv, kFc1}) {
        const QLinear& q = qblocks_[l][static_cast<size_t>(slot)];
        const std::string where = "block " + std::to_string(l) + (slot == kQkv ? "'s qkv" : "'s fc1");
        if (q.spec.a != ActFormat::kF32 && !int_ln_at(q))
          throw Error::usage("the integer LayerNorm hands k-bit codes (A8, A4, A2) to the Linear after it; " + where +
                             " takes " + act_traits(q.spec.a).name + " activations");
        if (int_ln_at(q) && plan_.act_scale != ActScale::kAbsMax)
          throw Error::usage("the integer LayerNorm quantises " + where + "'s input by the absmax rule, the plan's "
                             "act_scale is " + act_scale_name(plan_.act_scale));
        if (int_ln_at(q) && (q.bireal || q.shift))
          throw Error::usage("the integer LayerNorm feeds " + where +
                             " codes only, without the float input a Bi-Real shortcut or an RSign shift needs");
      }
  ones_.assign(static_cast<size_t>(std::max<int64_t>({D, Hm, c.patch_dim()})), 1.0f);
  zeros_.assign(ones_.size(), 0.0f);
}

ViTRunner::QLinear& ViTRunner::qlinear_at(const PlannedLinear& l) {
  switch (l.site) {
    case LinearSite::kPatch: return qpatch_;
    case LinearSite::kHead: return qhead_;
    case LinearSite::kHeadDist: return qhead_dist_;
    default: return qblocks_[static_cast<size_t>(l.block)][static_cast<size_t>(l.slot)];
  }
}

void ViTRunner::qlinear(QLinear& q, const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N,
                        int64_t K) {
  if (!q.spec.quantized()) {
    ScopedSeconds t(prof_ ? &prof_->linear : nullptr);
    return be_.linear(x, w, b, y, M, N, K);
  }
  const float eps = static_cast<float>(p_.cfg.ln_eps);
  if (q.engine && plan_.subln && !q.shift) {  // inference: SubLN inside the quantiser
    ScopedSeconds t(prof_ ? &prof_->linear : nullptr);
    q.engine->forward(x, b, y, M, int_acts_, eps, prof_ ? &prof_->requant : nullptr);
  } else {
    const float* src = x;
    if (plan_.subln) {  // LayerNorm without affine parameters, statistics saved for backward
      ScopedSeconds t(prof_ ? &prof_->norm : nullptr);
      layernorm_forward(x, ones_.data(), zeros_.data(), sub_, M, K, eps, q.sub_mean, q.sub_rstd);
      src = sub_;
    }
    ScopedSeconds t(prof_ ? &prof_->linear : nullptr);
    if (q.shift) {  // RSign: the quantiser's threshold moves per channel
      channel_shift_forward(src, q.shift, shifted_, M, K);  // [M, K]
      src = shifted_;
    }
    if (q.engine) {
      q.engine->forward(src, b, y, M, int_acts_, -1, prof_ ? &prof_->requant : nullptr);
    } else {
      act_traits(q.spec.a).fake_quant(src, M, K, q.xq, plan_.act_scale);  // [M, K]
      if (plan_.weights_quantized) {
        be_.linear(q.xq, w, b, y, M, N, K);
      } else {
        fake_quant_weights(weight_traits(q.spec.w), w, N, K, q.codes.data(), q.wq.data(), q.scales.data());  // [N, K]
        be_.linear(q.xq, q.wq.data(), b, y, M, N, K);
      }
    }
  }
  // Float operations on the output, the same on the engine and the fake-quant forward.
  if (q.bireal) bireal_shortcut_forward(x, y, M, N, K);
  if (q.rp_slope) rprelu_forward(y, q.rp_in, q.rp_slope, q.rp_out, training_ ? q.rp_z : nullptr, M, N);
}

bool ViTRunner::int_ln_at(const QLinear& q) const {
  if (!plan_.int_layernorm || !q.spec.quantized()) return false;
  const ActFormatTraits& t = act_traits(q.spec.a);
  return t.bits <= 8 && !t.no_zero;
}

void ViTRunner::norm_qlinear(QLinear& q, const float* x, const float* nw, const float* nb, float* ln, float* mean,
                             float* rstd, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K) {
  const float eps = static_cast<float>(p_.cfg.ln_eps);
  if (!int_ln_at(q)) {
    {
      ScopedSeconds t(prof_ ? &prof_->norm : nullptr);
      layernorm_forward(x, nw, nb, ln, M, K, eps, mean, rstd);  // [M, K]
    }
    return qlinear(q, ln, w, b, y, M, N, K);
  }
  {
    ScopedSeconds t(prof_ ? &prof_->norm : nullptr);
    if (training_) {  // the float LayerNorm and SubLN statistics the backward differentiates (straight through)
      layernorm_forward(x, nw, nb, ln, M, K, eps, mean, rstd);
      if (plan_.subln) layernorm_forward(ln, ones_.data(), zeros_.data(), sub_, M, K, eps, q.sub_mean, q.sub_rstd);
    }
    int_layernorm_acts(x, nw, nb, M, K, plan_.subln, q.spec.a, int_acts_, q.engine ? nullptr : q.xq);  // codes [M, Kp]
  }
  {
    ScopedSeconds t(prof_ ? &prof_->linear : nullptr);
    if (q.engine) {
      q.engine->forward_acts(int_acts_, b, y);
    } else if (plan_.weights_quantized) {
      be_.linear(q.xq, w, b, y, M, N, K);
    } else {
      fake_quant_weights(weight_traits(q.spec.w), w, N, K, q.codes.data(), q.wq.data(), q.scales.data());  // [N, K]
      be_.linear(q.xq, q.wq.data(), b, y, M, N, K);
    }
  }
  if (q.rp_slope) rprelu_forward(y, q.rp_in, q.rp_slope, q.rp_out, training_ ? q.rp_z : nullptr, M, N);
}

void ViTRunner::qlinear_backward(QLinear& q, const float* x, const float* w, const float* dy, float* dx, float* dw,
                                 float* db, int64_t M, int64_t N, int64_t K) {
  if (!q.spec.quantized()) return be_.linear_backward(x, w, dy, dx, dw, db, M, N, K);
  if (plan_.weights_quantized) throw Error::usage("a packed (already quantised) student cannot be trained");
  auto g = [&](const float* param) { return grads_ + (param - p_.flat.data()); };
  const float* dlin = dy;  // gradient at the Linear's (plus shortcut's) output
  if (q.rp_slope) {
    rprelu_backward(dy, q.rp_z, q.rp_slope, drp_, g(q.rp_in), g(q.rp_slope), g(q.rp_out), M, N);
    dlin = drp_;
  }
  // Straight-through: d(xq) passes to the quantiser's input, d(wq) to the latent weights.
  float* dsrc = plan_.subln ? dsub_ : dx;
  be_.linear_backward(q.xq, q.wq.data(), dlin, dx ? dsrc : nullptr, dw, db, M, N, K);
  if (plan_.ste_clip) ste_clip_mask(weight_traits(q.spec.w), w, N, K, q.scales.data(), dw);
  if (dx && plan_.act_ste_clip) {  // the quantiser's input again (its SubLN and shift), then its clip mask
    const float* src = x;
    if (plan_.subln) {
      layernorm_forward(x, ones_.data(), zeros_.data(), sub_, M, K, static_cast<float>(p_.cfg.ln_eps), q.sub_mean,
                        q.sub_rstd);
      src = sub_;
    }
    if (q.shift) {
      channel_shift_forward(src, q.shift, shifted_, M, K);
      src = shifted_;
    }
    act_ste_clip_mask(act_traits(q.spec.a), plan_.act_scale, src, M, K, dsrc);
  }
  if (dx && q.shift) channel_shift_backward(dsrc, g(q.shift), M, K);
  if (dx && plan_.subln) {
    std::memset(dx, 0, static_cast<size_t>(M * K) * sizeof(float));
    layernorm_backward(dsub_, x, ones_.data(), q.sub_mean, q.sub_rstd, dx, nullptr, nullptr, M, K);
  }
  if (dx && q.bireal) bireal_shortcut_backward(dlin, dx, M, N, K);
}

void ViTRunner::reserve(int64_t B) {
  if (B == batch_) return;
  const ViTConfig& c = p_.cfg;
  const int64_t T = c.tokens(), D = c.embed_dim, Np = c.num_patches(), H = c.num_heads, BT = B * T;
  const int64_t Hm = c.mlp_hidden, K = c.num_classes;
  // Two passes over the same carve-up: count, then hand out 64-byte aligned views.
  std::vector<std::pair<float**, int64_t>> want;
  auto take = [&](float** slot, int64_t n) { want.push_back({slot, (n + 15) / 16 * 16}); };
  take(&patches_, B * Np * c.patch_dim());
  take(&pemb_, B * Np * D);
  acts_.assign(static_cast<size_t>(c.depth), BlockActs{});
  const size_t own = training_ ? acts_.size() : std::min<size_t>(1, acts_.size());
  for (size_t l = 0; l < own; ++l) {
    BlockActs& a = acts_[l];
    take(&a.x_in, BT * D);
    take(&a.ln1, BT * D);
    take(&a.mean1, BT);
    take(&a.rstd1, BT);
    take(&a.qkv, BT * 3 * D);
    if (training_) take(&a.probs, B * H * T * T);  // inference saves no probabilities
    if (training_ && attn_q_.any()) take(&a.qkv_hat, BT * 3 * D);
    take(&a.att, BT * D);
    take(&a.ln2, BT * D);
    take(&a.mean2, BT);
    take(&a.rstd2, BT);
    take(&a.fc1, BT * Hm);
    if (training_) {
      take(&a.x_mid, BT * D);
      take(&a.gelu, BT * Hm);
    }
  }
  take(&x_out_, BT * D);
  take(&lnf_, BT * D);
  take(&meanf_, BT);
  take(&rstdf_, BT);
  take(&pool_in_, B * D);
  take(&pooled_, 2 * B * D);
  take(&logits_, 3 * B * K);
  take(&tmp_, BT * D);
  // BitLinear inputs: each layer keeps its own in training; inference shares block 0's.
  const int64_t Kmax = std::max<int64_t>({D, Hm, c.patch_dim()}), Mmax = std::max(BT, B * Np);
  auto take_q = [&](QLinear& q, int64_t M, int64_t Kin, int64_t Nout) {
    if (training_ && q.rp_slope) take(&q.rp_z, M * Nout);
    if (!q.spec.quantized() || q.engine) return;  // the engine quantises into its own buffer
    take(&q.xq, M * Kin);
    if (plan_.subln) {
      take(&q.sub_mean, M);
      take(&q.sub_rstd, M);
    }
  };
  const size_t qown = training_ ? qblocks_.size() : std::min<size_t>(1, qblocks_.size());
  for (size_t l = 0; l < qown; ++l) {
    auto& q = qblocks_[l];
    take_q(q[kQkv], BT, D, 3 * D);
    take_q(q[kProj], BT, D, D);
    take_q(q[kFc1], BT, D, Hm);
    take_q(q[kFc2], BT, Hm, D);
  }
  take_q(qpatch_, B * Np, c.patch_dim(), D);
  take_q(qhead_, B, D, K);
  take_q(qhead_dist_, B, D, K);
  // A quantised layer off the engine, or with an RSign shift, needs the SubLN scratch.
  bool unfused = false, shifted = false, rprelu = false;
  for (const auto* q : {&qpatch_, &qhead_, &qhead_dist_}) unfused |= q->spec.quantized() && !q->engine;
  for (const auto& b : qblocks_)
    for (const auto& q : b) {
      unfused |= q.spec.quantized() && (!q.engine || q.shift);
      shifted |= q.shift != nullptr;
      rprelu |= q.rp_slope != nullptr;
    }
  if (plan_.subln && unfused) {
    take(&sub_, Mmax * Kmax);
    if (training_) take(&dsub_, Mmax * Kmax);
  }
  if (shifted) take(&shifted_, Mmax * Kmax);
  if (training_ && rprelu) take(&drp_, BT * std::max(3 * D, Hm));
  if (training_) {
    take(&dx_, BT * D);
    take(&dln_, BT * D);
    take(&dqkv_, BT * 3 * D);
    take(&dprobs_, B * H * T * T);
    take(&datt_, BT * D);
    take(&dhid_, BT * Hm);
    take(&dpemb_, B * Np * D);
    take(&dpooled_, 2 * B * D);
  }
  int64_t total = 0;
  for (const auto& w : want) total += w.second;
  arena_.resize(Shape{total});
  float* at = arena_.data();
  for (const auto& w : want) {
    *w.first = at;
    at += w.second;
  }
  if (!training_) {
    // Inference: one residual buffer updated in place, every block shares block 0's buffers.
    if (!acts_.empty()) {
      acts_[0].x_in = acts_[0].x_mid = x_out_;
      acts_[0].gelu = acts_[0].fc1;
    }
    for (size_t l = 1; l < acts_.size(); ++l) acts_[l] = acts_[0];
    for (size_t l = 1; l < qblocks_.size(); ++l)
      for (int i = 0; i < 4; ++i) {
        qblocks_[l][i].xq = qblocks_[0][i].xq;
        qblocks_[l][i].sub_mean = qblocks_[0][i].sub_mean;
        qblocks_[l][i].sub_rstd = qblocks_[0][i].sub_rstd;
      }
  }
  if (plan_.integer) {  // the integer GELU's codes (one block at a time)
    gelu_codes_.resize(static_cast<size_t>(BT * Hm));
    gelu_step_.resize(static_cast<size_t>(BT));
    gelu_sum_.resize(static_cast<size_t>(BT));
  }
  batch_ = B;
}

TensorView ViTRunner::forward(const TensorView& images) {
  const int64_t B = images.shape().rank() == 4 ? images.dim(0) : 0;
  ScopedSeconds total(prof_ ? &prof_->total : nullptr);  // one call per forward, however many chunks
  if (prof_) ++prof_->calls;
  chunked_ = !training_ && !taps_ && !attn_taps_ && infer_chunk_ > 0 && B > infer_chunk_;
  if (!chunked_) return forward_batch(images);
  // Inference in chunks of images: every layer works per token or per image,
  // so each image's logits are the same floats as in one pass, while a chunk's
  // activations stay in cache instead of a whole batch's going to memory.
  const int64_t K = p_.cfg.num_classes, per = images.numel() / B;
  all_logits_.resize(static_cast<size_t>(3 * B * K));  // [3, B, K]: class head, dist head, returned
  for (int64_t b0 = 0; b0 < B; b0 += infer_chunk_) {
    const int64_t n = std::min(infer_chunk_, B - b0);
    TensorView part(const_cast<float*>(images.data()) + b0 * per,
                    Shape{n, images.dim(1), images.dim(2), images.dim(3)});
    const TensorView out = forward_batch(part);
    std::copy(out.data(), out.data() + n * K, all_logits_.data() + 2 * B * K + b0 * K);
    std::copy(logits_, logits_ + n * K, all_logits_.data() + b0 * K);
    if (p_.cfg.distilled) std::copy(logits_ + n * K, logits_ + 2 * n * K, all_logits_.data() + B * K + b0 * K);
  }
  chunked_batch_ = B;
  return TensorView(all_logits_.data() + 2 * B * K, Shape{B, K});
}

TensorView ViTRunner::forward_batch(const TensorView& images) {
  const ViTConfig& c = p_.cfg;
  const int64_t B = images.dim(0);
  if (images.shape().rank() != 4 || images.dim(1) != c.in_chans || images.dim(2) != c.img_size ||
      images.dim(3) != c.img_size)
    throw Error::usage("model expects images [B, " + std::to_string(c.in_chans) + ", " + std::to_string(c.img_size) +
                       ", " + std::to_string(c.img_size) + "], got " + images.shape().str());
  reserve(B);
  auto part = [this](double ForwardProfile::*f) { return prof_ ? &(prof_->*f) : nullptr; };
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
  patchify(images.data(), patches_, B, c.in_chans, c.img_size, c.patch_size);     // [B, Np, C*P*P]
  qlinear(qpatch_, patches_, p_.patch_w, p_.patch_b, pemb_, B * Np, D, c.patch_dim());  // [B, Np, D]
  float* x = c.depth > 0 ? acts_[0].x_in : x_out_;
  assemble_tokens(pemb_, p_.cls_token, p_.dist_token, p_.pos_embed, x, B, Np, D);  // [B, T, D]
  tap(0, x);

  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  for (int l = 0; l < c.depth; ++l) {
    const BlockParams& w = p_.blocks[static_cast<size_t>(l)];
    BlockActs& a = acts_[static_cast<size_t>(l)];
    auto& q = qblocks_[static_cast<size_t>(l)];
    float* next = l + 1 < c.depth ? acts_[static_cast<size_t>(l) + 1].x_in : x_out_;
    // x_mid = x_in + proj(attn(norm1(x_in)))
    norm_qlinear(q[kQkv], a.x_in, w.norm1_w, w.norm1_b, a.ln1, a.mean1, a.rstd1, w.qkv_w, w.qkv_b, a.qkv, BT, 3 * D,
                 D);  // ln1 [BT, D], qkv [BT, 3D]
    {
      ScopedSeconds t(part(&ForwardProfile::attention));
      float* attn_tap = nullptr;  // [B, H, T, T] attention capture
      if (attn_taps_) {
        if (attn_taps_->size() < static_cast<size_t>(c.depth)) attn_taps_->resize(static_cast<size_t>(c.depth));
        (*attn_taps_)[static_cast<size_t>(l)].resize(Shape{B, H, T, T});
        attn_tap = (*attn_taps_)[static_cast<size_t>(l)].data();
      }
      // Training keeps its own probabilities for backward (and copies them to the tap);
      // inference writes them only when captured, straight into the tap.
      float* probs = training_ ? a.probs : attn_tap;
      if (attn_q_.any())  // the same integer arithmetic in training and on the engine
        attention_quant_forward(a.qkv, attn_q_, w.attn_prob_scale, probs, training_ ? a.qkv_hat : nullptr, a.att, B,
                                T, H, Dh, scale, part(&ForwardProfile::softmax));  // [BT, D]
      else
        be_.attention(a.qkv, probs, a.att, B, T, H, Dh, scale);  // [BT, D]
      if (attn_tap && training_) std::memcpy(attn_tap, probs, static_cast<size_t>(B * H * T * T) * sizeof(float));
    }
    qlinear(q[kProj], a.att, w.proj_w, w.proj_b, tmp_, BT, D, D);                        // [BT, D]
    add(a.x_in, tmp_, a.x_mid, BT * D);
    // next = x_mid + fc2(gelu(fc1(norm2(x_mid))))
    norm_qlinear(q[kFc1], a.x_mid, w.norm2_w, w.norm2_b, a.ln2, a.mean2, a.rstd2, w.fc1_w, w.fc1_b, a.fc1, BT, Hm,
                 D);  // ln2 [BT, D], fc1 [BT, Hm]
    {
      ScopedSeconds t(part(&ForwardProfile::gelu));
      if (plan_.integer)  // integer GELU: fc1's output codes → fc2's input codes (int_ops.hpp)
        int_gelu_rows(a.fc1, BT, Hm, int_gelu_out_format(q[kFc2].spec.a, plan_.subln), Hm, gelu_codes_.data(), gelu_step_.data(),
                      gelu_sum_.data(), a.gelu);
      else
        gelu_forward(a.fc1, a.gelu, BT * Hm);
    }
    qlinear(q[kFc2], a.gelu, w.fc2_w, w.fc2_b, tmp_, BT, D, Hm);  // [BT, D]
    add(a.x_mid, tmp_, next, BT * D);
    tap(static_cast<size_t>(l) + 1, next);
  }

  float* logits = logits_;  // class-token (or avg-pool) head: [B, K]
  if (c.global_pool == "avg") {
    // timm: mean over patch tokens, then fc_norm.
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d) {
        float s = 0;
        for (int64_t t = c.num_prefix(); t < T; ++t) s += x_out_[(b * T + t) * D + d];
        pool_in_[b * D + d] = s / static_cast<float>(Np);
      }
    layernorm_forward(pool_in_, p_.norm_w, p_.norm_b, pooled_, B, D, eps, meanf_, rstdf_);  // [B, D]
    qlinear(qhead_, pooled_, p_.head_w, p_.head_b, logits, B, K, D);                       // [B, K]
  } else {
    {
      ScopedSeconds t(part(&ForwardProfile::norm));
      layernorm_forward(x_out_, p_.norm_w, p_.norm_b, lnf_, BT, D, eps, meanf_, rstdf_);  // [BT, D]
    }
    tap(static_cast<size_t>(c.depth) + 1, lnf_);
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(pooled_ + b * D, lnf_ + b * T * D, static_cast<size_t>(D) * sizeof(float));  // cls token
      if (c.distilled) std::memcpy(pooled_ + (B + b) * D, lnf_ + (b * T + 1) * D, static_cast<size_t>(D) * sizeof(float));
    }
    qlinear(qhead_, pooled_, p_.head_w, p_.head_b, logits, B, K, D);  // [B, K]
    if (c.distilled) {
      float* ld = logits_ + B * K;
      float* avg = logits_ + 2 * B * K;
      qlinear(qhead_dist_, pooled_ + B * D, p_.head_dist_w, p_.head_dist_b, ld, B, K, D);  // [B, K]
      for (int64_t i = 0; i < B * K; ++i) avg[i] = 0.5f * (logits[i] + ld[i]);
      logits = avg;
    }
  }
  return TensorView(logits, Shape{B, K});
}

TensorView ViTRunner::logits_cls() const {
  if (chunked_) return TensorView(const_cast<float*>(all_logits_.data()), Shape{chunked_batch_, p_.cfg.num_classes});
  return TensorView(logits_, Shape{batch_, p_.cfg.num_classes});
}
TensorView ViTRunner::logits_dist() const {
  if (!p_.cfg.distilled) throw Error::usage("logits_dist: the model has no distillation head");
  if (chunked_)
    return TensorView(const_cast<float*>(all_logits_.data()) + chunked_batch_ * p_.cfg.num_classes,
                      Shape{chunked_batch_, p_.cfg.num_classes});
  return TensorView(logits_ + batch_ * p_.cfg.num_classes, Shape{batch_, p_.cfg.num_classes});
}
const float* ViTRunner::block_output(int l) const {
  if (chunked_) throw Error::usage("block_output: the last forward ran in chunks (set_inference_chunk(0) to keep block outputs)");
  return l + 1 < p_.cfg.depth ? acts_[static_cast<size_t>(l) + 1].x_in : x_out_;
}

const float* ViTRunner::block_probs(int l) const {
  if (!training_) throw Error::usage("block_probs: only a training runner keeps attention probabilities");
  return acts_[static_cast<size_t>(l)].probs;
}

void ViTRunner::backward(const float* dlogits, float* grads, const float* dlogits_dist,
                         const std::vector<const float*>* dblock, const std::vector<const float*>* dattn) {
  const ViTConfig& c = p_.cfg;
  if (!training_) throw Error::usage("ViTRunner::backward needs a runner built for training");
  const int64_t B = batch_, T = c.tokens(), D = c.embed_dim, Np = c.num_patches(), H = c.num_heads, Dh = c.head_dim();
  const int64_t Hm = c.mlp_hidden, K = c.num_classes, BT = B * T;
  auto g = [&](const float* param) { return param ? grads + (param - p_.flat.data()) : nullptr; };
  grads_ = grads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));

  // Heads: logits[B, K] = pooled[B, D] · head^T + b (and the dist head on pooled[B:2B]).
  std::vector<float> half;  // distilled model trained on the mean of its heads: each gets half
  const float* dcls = dlogits;
  const float* ddist = dlogits_dist;
  if (c.distilled && !dlogits_dist) {
    half.resize(static_cast<size_t>(B * K));
    for (int64_t i = 0; i < B * K; ++i) half[static_cast<size_t>(i)] = 0.5f * dlogits[i];
    dcls = ddist = half.data();
  }
  qlinear_backward(qhead_, pooled_, p_.head_w, dcls, dpooled_, g(p_.head_w), g(p_.head_b), B, K, D);
  if (c.distilled)
    qlinear_backward(qhead_dist_, pooled_ + B * D, p_.head_dist_w, ddist, dpooled_ + B * D, g(p_.head_dist_w),
                     g(p_.head_dist_b), B, K, D);
  std::memset(dx_, 0, static_cast<size_t>(BT * D) * sizeof(float));
  if (c.global_pool == "avg") {
    // pooled = fc_norm(mean of patch tokens): back through the norm into dln_[B, D], then spread over tokens.
    std::memset(dln_, 0, static_cast<size_t>(B * D) * sizeof(float));
    layernorm_backward(dpooled_, pool_in_, p_.norm_w, meanf_, rstdf_, dln_, g(p_.norm_w), g(p_.norm_b), B, D);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = c.num_prefix(); t < T; ++t)
        for (int64_t d = 0; d < D; ++d) dx_[(b * T + t) * D + d] = dln_[b * D + d] / static_cast<float>(Np);
  } else {
    // pooled = norm(x_out)[:, 0] (and [:, 1] for the dist token): only those rows carry gradient.
    std::memset(dln_, 0, static_cast<size_t>(BT * D) * sizeof(float));
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(dln_ + b * T * D, dpooled_ + b * D, static_cast<size_t>(D) * sizeof(float));
      if (c.distilled) std::memcpy(dln_ + (b * T + 1) * D, dpooled_ + (B + b) * D, static_cast<size_t>(D) * sizeof(float));
    }
    layernorm_backward(dln_, x_out_, p_.norm_w, meanf_, rstdf_, dx_, g(p_.norm_w), g(p_.norm_b), BT, D);
  }

  for (int l = c.depth - 1; l >= 0; --l) {
    const BlockParams& w = p_.blocks[static_cast<size_t>(l)];
    const BlockActs& a = acts_[static_cast<size_t>(l)];
    auto& q = qblocks_[static_cast<size_t>(l)];
    if (dblock && (*dblock)[static_cast<size_t>(l)]) {  // a hidden-state loss on this block's output
      const float* extra = (*dblock)[static_cast<size_t>(l)];
      for (int64_t i = 0; i < BT * D; ++i) dx_[i] += extra[i];
    }
    // dx holds d(block output). MLP branch: out = x_mid + fc2(gelu(fc1(ln2(x_mid)))).
    qlinear_backward(q[kFc2], a.gelu, w.fc2_w, dx_, dhid_, g(w.fc2_w), g(w.fc2_b), BT, D, Hm);  // dhid [BT, Hm]
    if (plan_.integer)  // straight through both quantisers, x·σ(1.702x)'s slope
      sigmoid_gelu_backward(a.fc1, dhid_, dhid_, BT * Hm);
    else
      gelu_backward(a.fc1, dhid_, dhid_, BT * Hm);
    qlinear_backward(q[kFc1], a.ln2, w.fc1_w, dhid_, dln_, g(w.fc1_w), g(w.fc1_b), BT, Hm, D);  // dln [BT, D]
    layernorm_backward(dln_, a.x_mid, w.norm2_w, a.mean2, a.rstd2, dx_, g(w.norm2_w), g(w.norm2_b), BT, D);
    // dx holds d(x_mid). Attention branch: x_mid = x_in + proj(attn(qkv(ln1(x_in)))).
    qlinear_backward(q[kProj], a.att, w.proj_w, dx_, datt_, g(w.proj_w), g(w.proj_b), BT, D, D);  // datt [BT, D]
    const float* dmap = dattn ? (*dattn)[static_cast<size_t>(l)] : nullptr;  // an attention-map loss's gradient
    if (attn_q_.any() || dmap)  // (fp32 attention with a map loss: the same backward, q̂k̂v̂ being qkv)
      attention_quant_backward(attn_q_.any() ? a.qkv_hat : a.qkv, a.probs, datt_, attn_q_, w.attn_prob_scale, dqkv_,
                               g(w.attn_prob_scale), B, T, H, Dh, scale, dmap);  // dqkv [BT, 3D]
    else
      be_.attention_backward(a.qkv, a.probs, datt_, dqkv_, dprobs_, B, T, H, Dh, scale);  // dqkv [BT, 3D]
    qlinear_backward(q[kQkv], a.ln1, w.qkv_w, dqkv_, dln_, g(w.qkv_w), g(w.qkv_b), BT, 3 * D, D);
    layernorm_backward(dln_, a.x_in, w.norm1_w, a.mean1, a.rstd1, dx_, g(w.norm1_w), g(w.norm1_b), BT, D);
  }
  // Tokens and position embedding, then the patch embedding GEMM (no gradient to the images).
  assemble_tokens_backward(dx_, dpemb_, g(p_.cls_token), g(p_.dist_token), g(p_.pos_embed), B, Np, D, c.num_prefix());
  qlinear_backward(qpatch_, patches_, p_.patch_w, dpemb_, nullptr, g(p_.patch_w), g(p_.patch_b), B * Np, D, c.patch_dim());
}

}  // namespace bb
