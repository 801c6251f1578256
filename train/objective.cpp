#include "train/objective.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "models/layers.hpp"

namespace bb {

namespace {
// weight / Ls · Σ over the Ls student blocks of mean((s_l − t_l')²) over n
// floats, where t_l' is the teacher block at the same relative depth
// (l' = (l + 1)·Lt/Ls − 1), added block by block to loss; each block's
// gradient goes to d[l], ptrs[l].
template <class StudentAt, class TeacherAt>
void add_paired_block_mse(float& loss, int Ls, int Lt, int64_t n, double weight, StudentAt student_at,
                          TeacherAt teacher_at, std::vector<std::vector<float>>& d, std::vector<const float*>& ptrs) {
  d.resize(static_cast<size_t>(Ls));
  ptrs.assign(static_cast<size_t>(Ls), nullptr);
  const double w = weight / Ls;
  for (int l = 0; l < Ls; ++l) {
    const float* s = student_at(l);
    const float* t = teacher_at((l + 1) * Lt / Ls - 1);
    auto& dl = d[static_cast<size_t>(l)];
    dl.resize(static_cast<size_t>(n));
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double diff = double(s[i]) - t[i];
      sq += diff * diff;
      dl[static_cast<size_t>(i)] = static_cast<float>(w * 2 * diff / static_cast<double>(n));
    }
    loss += static_cast<float>(w * sq / static_cast<double>(n));
    ptrs[static_cast<size_t>(l)] = dl.data();
  }
}
}  // namespace

float CrossEntropyObjective::step(const Batch& b, ViTRunner& student, const TensorView& logits, StepGrads& g) {
  const int64_t B = b.size(), K = student.config().num_classes;
  probs_.resize(static_cast<size_t>(B * K));
  g.dlogits.resize(static_cast<size_t>(B * K));
  g.has_dist = false;
  return cross_entropy(logits.data(), b.labels.data(), probs_.data(), g.dlogits.data(), B, K, smoothing_);
}

float soft_distill_loss(const float* s, const float* t, float* ds, int64_t B, int64_t K, float temperature, float weight) {
  const double T = temperature;
  double loss = 0;
  std::vector<double> ps(static_cast<size_t>(K)), pt(static_cast<size_t>(K));
  auto softmax = [&](const float* x, std::vector<double>& p) {
    double mx = x[0];
    for (int64_t k = 1; k < K; ++k) mx = std::max(mx, double(x[k]));
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += (p[static_cast<size_t>(k)] = std::exp((x[k] - mx) / T));
    for (auto& v : p) v /= sum;
  };
  for (int64_t b = 0; b < B; ++b) {
    softmax(s + b * K, ps);
    softmax(t + b * K, pt);
    for (int64_t k = 0; k < K; ++k) {
      const double q = pt[static_cast<size_t>(k)], p = ps[static_cast<size_t>(k)];
      if (q > 0) loss += q * (std::log(q) - std::log(std::max(p, 1e-300)));
      // d/ds_k of T² KL = T (p_k - q_k); mean over the batch.
      if (ds) ds[b * K + k] += static_cast<float>(weight * T * (p - q) / static_cast<double>(B));
    }
  }
  return static_cast<float>(T * T * loss / static_cast<double>(B));
}

DistillObjective::DistillObjective(const ViTParams& teacher, const QuantPlan* teacher_plan, DistillConfig cfg,
                                   float smoothing, TeacherLogitCache* cache)
    : teacher_(teacher),
      backend_(make_backend(ModelBackend::kOnednn)),
      runner_(teacher, *backend_, false, teacher_plan),
      cfg_(std::move(cfg)),
      smoothing_(smoothing),
      cache_(cache) {
  if (cfg_.kind != "soft" && cfg_.kind != "hard" && cfg_.kind != "none")
    throw Error::usage("distillation kind must be soft, hard or none, not \"" + cfg_.kind + "\"");
}

float DistillObjective::step(const Batch& b, ViTRunner& student, const TensorView& logits, StepGrads& g) {
  const ViTConfig& sc = student.config();
  const int64_t B = b.size(), K = sc.num_classes;
  const bool dist_token = sc.distilled;
  const float alpha = static_cast<float>(cfg_.alpha);
  probs_.resize(static_cast<size_t>(B * K));
  tmp_.resize(static_cast<size_t>(B * K));
  g.dlogits.assign(static_cast<size_t>(B * K), 0.0f);
  g.has_dist = dist_token;
  if (dist_token) g.dlogits_dist.assign(static_cast<size_t>(B * K), 0.0f);

  // The class head (or the only head): CE on the labels.
  const TensorView cls = dist_token ? student.logits_cls() : logits;
  const float ce_weight = cfg_.kind == "none" ? 1.0f : 1.0f - alpha;
  float loss = ce_weight * cross_entropy(cls.data(), b.labels.data(), probs_.data(), tmp_.data(), B, K, smoothing_);
  for (size_t i = 0; i < tmp_.size(); ++i) g.dlogits[i] = ce_weight * tmp_[i];
  if (cfg_.kind == "none" && cfg_.hidden_mse <= 0 && cfg_.attn_mse <= 0) return loss;

  // The teacher on the same images: [B, K], from the cache when another student ran it on this batch.
  const float* t = nullptr;
  const bool cached = cache_ && cfg_.hidden_mse <= 0 && cfg_.attn_mse <= 0;
  TeacherLogitCache::Key key;
  if (cached) {
    key = TeacherLogitCache::key_of(b);
    t = cache_->find(key, K);
  }
  if (!t) {
    if (cfg_.hidden_mse > 0) runner_.capture(&taps_);
    if (cfg_.attn_mse > 0) runner_.capture_attention(&attn_taps_);
    TensorView tv = runner_.forward(b.images);
    if (tv.dim(1) != K) throw Error::usage("teacher has " + std::to_string(tv.dim(1)) + " classes, the student " + std::to_string(K));
    t = tv.data();
    if (cached) cache_->insert(key, t, K);
  }

  if (cfg_.kind != "none") {
    const TensorView head = dist_token ? student.logits_dist() : logits;
    float* dhead = dist_token ? g.dlogits_dist.data() : g.dlogits.data();
    const float w = alpha;
    if (cfg_.kind == "soft") {
      loss += w * soft_distill_loss(head.data(), t, dhead, B, K, static_cast<float>(cfg_.temperature), w);
    } else {
      hard_.resize(static_cast<size_t>(B));
      for (int64_t i = 0; i < B; ++i) hard_[static_cast<size_t>(i)] = static_cast<int>(std::max_element(t + i * K, t + (i + 1) * K) - (t + i * K));
      loss += w * cross_entropy(head.data(), hard_.data(), probs_.data(), tmp_.data(), B, K, 0.0f);
      for (size_t i = 0; i < tmp_.size(); ++i) dhead[i] += w * tmp_[i];
    }
  }

  if (cfg_.hidden_mse > 0) {
    const ViTConfig& tc = teacher_.cfg;
    if (tc.embed_dim != sc.embed_dim || tc.tokens() != sc.tokens())
      throw Error::usage("hidden-state distillation needs the teacher's width and token count (teacher " +
                         std::to_string(tc.embed_dim) + " x " + std::to_string(tc.tokens()) + ", student " +
                         std::to_string(sc.embed_dim) + " x " + std::to_string(sc.tokens()) + ")");
    add_paired_block_mse(
        loss, sc.depth, tc.depth, B * sc.tokens() * sc.embed_dim, cfg_.hidden_mse,
        [&](int l) { return student.block_output(l); },
        [&](int tl) { return taps_[static_cast<size_t>(tl) + 1].data(); }, g.dblock, g.dblock_ptrs);
  }
  if (cfg_.attn_mse > 0) {
    const ViTConfig& tc = teacher_.cfg;
    if (tc.num_heads != sc.num_heads || tc.tokens() != sc.tokens())
      throw Error::usage("attention-map distillation needs the teacher's heads and token count (teacher " +
                         std::to_string(tc.num_heads) + " heads x " + std::to_string(tc.tokens()) + " tokens, student " +
                         std::to_string(sc.num_heads) + " x " + std::to_string(sc.tokens()) + ")");
    add_paired_block_mse(
        loss, sc.depth, tc.depth, B * sc.num_heads * sc.tokens() * sc.tokens(), cfg_.attn_mse,
        [&](int l) { return student.block_probs(l); },
        [&](int tl) { return attn_taps_[static_cast<size_t>(tl)].data(); }, g.dattn, g.dattn_ptrs);
  }
  return loss;
}

}  // namespace bb
