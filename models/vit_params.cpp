#include "models/vit_params.hpp"

#include <algorithm>
#include <cmath>

#include "core/rng.hpp"

namespace bb {

std::vector<ParamEntry> vit_param_layout(const ViTConfig& c) {
  const int64_t D = c.embed_dim, Hm = c.mlp_hidden, K = c.num_classes;
  std::vector<ParamEntry> v;
  int64_t at = 0;
  auto add = [&](std::string name, std::vector<int64_t> shape, ParamInit init = ParamInit::kTimm) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    v.push_back({std::move(name), std::move(shape), at, n, init});
    at += n;
  };
  add("patch_embed.proj.weight", {D, c.in_chans, c.patch_size, c.patch_size});
  add("patch_embed.proj.bias", {D});
  if (c.class_token) add("cls_token", {1, 1, D});
  if (c.distilled) add("dist_token", {1, 1, D});
  add("pos_embed", {1, c.tokens(), D});
  for (int i = 0; i < c.depth; ++i) {
    std::string b = "blocks." + std::to_string(i) + ".";
    add(b + "norm1.weight", {D});
    add(b + "norm1.bias", {D});
    add(b + "attn.qkv.weight", {3 * D, D});
    if (c.qkv_bias) add(b + "attn.qkv.bias", {3 * D});
    add(b + "attn.proj.weight", {D, D});
    add(b + "attn.proj.bias", {D});
    add(b + "norm2.weight", {D});
    add(b + "norm2.bias", {D});
    add(b + "mlp.fc1.weight", {Hm, D});
    add(b + "mlp.fc1.bias", {Hm});
    add(b + "mlp.fc2.weight", {D, Hm});
    add(b + "mlp.fc2.bias", {D});
    // The low-bit extras (ViTConfig), each starting as the identity.
    const auto NK = c.block_linear_nk();
    for (size_t s = 0; s < 4; ++s) {
      const std::string l = b + kBlockLinearNames[s] + ".";
      if (c.rsign) add(l + "act_shift", {NK[s][1]}, ParamInit::kZero);
      if (c.rprelu) {
        add(l + "rprelu_in", {NK[s][0]}, ParamInit::kZero);
        add(l + "rprelu_slope", {NK[s][0]}, ParamInit::kOne);
        add(l + "rprelu_out", {NK[s][0]}, ParamInit::kZero);
      }
    }
    if (c.attn_prob_scale) add(b + "attn.prob_scale", {c.num_heads}, ParamInit::kOne);
  }
  std::string norm = c.global_pool == "avg" ? "fc_norm" : "norm";
  add(norm + ".weight", {D});
  add(norm + ".bias", {D});
  add("head.weight", {K, D});
  add("head.bias", {K});
  if (c.distilled) {
    add("head_dist.weight", {K, D});
    add("head_dist.bias", {K});
  }
  return v;
}

ViTParams::ViTParams(const ViTConfig& c) : cfg(c), entries(vit_param_layout(c)) {
  count_ = entries.empty() ? 0 : entries.back().offset + entries.back().numel;
  flat = Tensor(Shape{count_});
  bind_views();
}

void ViTParams::release_tensors(const std::vector<std::string>& names) {
  int64_t keep = 0;
  for (const auto& e : entries)
    if (e.offset >= 0 && std::find(names.begin(), names.end(), e.name) == names.end()) keep += e.numel;
  Tensor kept(Shape{keep});
  int64_t at = 0;
  for (auto& e : entries) {
    if (e.offset < 0) continue;
    if (std::find(names.begin(), names.end(), e.name) != names.end()) {
      e.offset = -1;
      continue;
    }
    std::copy(flat.data() + e.offset, flat.data() + e.offset + e.numel, kept.data() + at);
    e.offset = at;
    at += e.numel;
  }
  flat = std::move(kept);
  blocks.clear();
  bind_views();
}

void ViTParams::bind_views() {
  const ViTConfig& c = cfg;
  auto p = [&](const std::string& name) -> float* {
    const ParamEntry* e = find(name);
    return e ? data(*e) : nullptr;
  };
  patch_w = p("patch_embed.proj.weight");
  patch_b = p("patch_embed.proj.bias");
  cls_token = p("cls_token");
  dist_token = p("dist_token");
  pos_embed = p("pos_embed");
  for (int i = 0; i < c.depth; ++i) {
    std::string b = "blocks." + std::to_string(i) + ".";
    BlockParams w{p(b + "norm1.weight"), p(b + "norm1.bias"), p(b + "attn.qkv.weight"), p(b + "attn.qkv.bias"),
                  p(b + "attn.proj.weight"), p(b + "attn.proj.bias"), p(b + "norm2.weight"), p(b + "norm2.bias"),
                  p(b + "mlp.fc1.weight"), p(b + "mlp.fc1.bias"), p(b + "mlp.fc2.weight"), p(b + "mlp.fc2.bias"),
                  {}, {}, {}, {}, p(b + "attn.prob_scale")};
    for (int l = 0; l < 4; ++l) {
      const std::string n = b + kBlockLinearNames[l] + ".";
      w.act_shift[l] = p(n + "act_shift");
      w.rprelu_in[l] = p(n + "rprelu_in");
      w.rprelu_slope[l] = p(n + "rprelu_slope");
      w.rprelu_out[l] = p(n + "rprelu_out");
    }
    blocks.push_back(w);
  }
  std::string norm = c.global_pool == "avg" ? "fc_norm" : "norm";
  norm_w = p(norm + ".weight");
  norm_b = p(norm + ".bias");
  head_w = p("head.weight");
  head_b = p("head.bias");
  head_dist_w = p("head_dist.weight");
  head_dist_b = p("head_dist.bias");
}

const ParamEntry* ViTParams::find(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

void ViTParams::init_random(uint64_t seed) {
  // timm's VisionTransformer init: Linear weights trunc_normal(std 0.02) and zero
  // biases, LayerNorm ones/zeros, pos_embed trunc_normal(0.02), cls/dist tokens
  // normal(1e-6); the patch-embedding conv keeps PyTorch's default
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias. The low-bit
  // extras take their layout's constant (RSign and RPReLU the identity: shifts
  // 0, slope 1), so that a student initialised from its teacher starts as the
  // teacher's function.
  const double conv_bound = 1.0 / std::sqrt(static_cast<double>(cfg.patch_dim()));
  for (size_t i = 0; i < entries.size(); ++i) {
    const ParamEntry& e = entries[i];
    float* d = data(e);
    const std::string& n = e.name;
    const bool is_norm = n.find("norm") != std::string::npos;
    const bool is_bias = n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0;
    const bool is_patch = n.rfind("patch_embed.", 0) == 0;
    const bool is_token = n == "cls_token" || n == "dist_token";
    if (e.init != ParamInit::kTimm) {
      std::fill(d, d + e.numel, e.init == ParamInit::kOne ? 1.0f : 0.0f);
      continue;
    }
    Rng rng(seed, Stream::kInit, i);
    for (int64_t k = 0; k < e.numel; ++k) {
      if (is_patch) d[k] = static_cast<float>(rng.uniform(-conv_bound, conv_bound));
      else if (is_norm) d[k] = is_bias ? 0.0f : 1.0f;
      else if (is_bias) d[k] = 0.0f;
      else if (is_token) d[k] = static_cast<float>(1e-6 * rng.normal());
      else {
        double x;
        do x = rng.normal();
        while (std::fabs(x) > 2.0);  // truncated at 2 sigma, as timm's trunc_normal_
        d[k] = static_cast<float>(0.02 * x);
      }
    }
  }
}

}  // namespace bb
