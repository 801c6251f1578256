#include "models/vit_config.hpp"

#include <cmath>

#include "core/error.hpp"

namespace bb {

void check(const ViTConfig& c, const std::string& where) {
  auto fail = [&](const std::string& m) { throw Error::input(where, "model config: " + m); };
  if (c.img_size < 1 || c.patch_size < 1 || c.in_chans < 1 || c.embed_dim < 1 || c.depth < 0 || c.num_heads < 1 ||
      c.mlp_hidden < 1 || c.num_classes < 1)
    fail("sizes must be positive");
  if (c.img_size % c.patch_size != 0)
    fail("img_size " + std::to_string(c.img_size) + " is not a multiple of patch_size " + std::to_string(c.patch_size));
  if (c.embed_dim % c.num_heads != 0)
    fail("embed_dim " + std::to_string(c.embed_dim) + " is not a multiple of num_heads " + std::to_string(c.num_heads));
  if (c.global_pool != "token" && c.global_pool != "avg") fail("global_pool must be token or avg");
  if (c.global_pool == "token" && !c.class_token) fail("global_pool token needs class_token");
  if (c.distilled && !c.class_token) fail("distilled needs class_token");
  if (c.distilled && c.global_pool != "token") fail("distilled models pool by token");
  if (!(c.ln_eps > 0)) fail("ln_eps must be positive");
}

ViTConfig read_vit_config(JsonReader& r, const ViTConfig& start) {
  ViTConfig c = start;
  if (r.has("preset")) {
    std::string p;
    r.read("preset", p);
    try {
      c = vit_preset(p);
    } catch (const Error& e) {
      throw r.error("preset", e.message());
    }
  }
  r.read("img_size", c.img_size, 1, 8192);
  r.read("patch_size", c.patch_size, 1, 1024);
  r.read("in_chans", c.in_chans, 1, 64);
  r.read("embed_dim", c.embed_dim, 1, 65536);
  r.read("depth", c.depth, 0, 1024);
  r.read("num_heads", c.num_heads, 1, 1024);
  if (r.has("mlp_ratio")) {
    double ratio = 4;
    r.read("mlp_ratio", ratio, Range{0, 64, true, false});
    c.mlp_hidden = static_cast<int>(std::lround(c.embed_dim * ratio));
  }
  r.read("mlp_hidden", c.mlp_hidden, 1, 1 << 20);
  r.read("qkv_bias", c.qkv_bias);
  r.read("num_classes", c.num_classes, 1, 1 << 20);
  r.read("class_token", c.class_token);
  r.read_enum("global_pool", c.global_pool, {"token", "avg"});
  r.read("distilled", c.distilled);
  r.read("ln_eps", c.ln_eps, Range{0, 1, true, false});
  r.read("rsign", c.rsign);
  r.read("bireal", c.bireal);
  r.read("rprelu", c.rprelu);
  r.read("attn_prob_scale", c.attn_prob_scale);
  r.finish();
  check(c, r.file());
  return c;
}

nlohmann::json to_json(const ViTConfig& c) {
  nlohmann::json j = {{"img_size", c.img_size},       {"patch_size", c.patch_size},   {"in_chans", c.in_chans},
                      {"embed_dim", c.embed_dim},     {"depth", c.depth},             {"num_heads", c.num_heads},
                      {"mlp_hidden", c.mlp_hidden},   {"qkv_bias", c.qkv_bias},       {"num_classes", c.num_classes},
                      {"class_token", c.class_token}, {"global_pool", c.global_pool}, {"distilled", c.distilled},
                      {"ln_eps", c.ln_eps}};
  // Written only when on, so that the recipes (and stage-cache hashes) of models without them stay as they were.
  if (c.rsign) j["rsign"] = true;
  if (c.bireal) j["bireal"] = true;
  if (c.rprelu) j["rprelu"] = true;
  if (c.attn_prob_scale) j["attn_prob_scale"] = true;
  return j;
}

namespace {
struct Preset {
  const char* name;
  int img, patch, chans, dim, depth, heads, mlp, classes;
  bool distilled;
  bool timm;  // a timm architecture (its head count is timm's table), not one of bitbench's small models
};
// timm's ImageNet models and bitbench's small models for 28x28 / 32x32 inputs.
// Every timm ViT/DeiT here uses LayerNorm eps 1e-6 (ViTConfig's default).
constexpr Preset kPresets[] = {
    {"vit_tiny_patch16_224", 224, 16, 3, 192, 12, 3, 768, 1000, false, true},
    {"vit_small_patch16_224", 224, 16, 3, 384, 12, 6, 1536, 1000, false, true},
    {"vit_base_patch16_224", 224, 16, 3, 768, 12, 12, 3072, 1000, false, true},
    {"vit_large_patch16_224", 224, 16, 3, 1024, 24, 16, 4096, 1000, false, true},
    {"vit_small_patch32_224", 224, 32, 3, 384, 12, 6, 1536, 1000, false, true},
    {"vit_base_patch32_224", 224, 32, 3, 768, 12, 12, 3072, 1000, false, true},
    {"deit_tiny_patch16_224", 224, 16, 3, 192, 12, 3, 768, 1000, false, true},
    {"deit_small_patch16_224", 224, 16, 3, 384, 12, 6, 1536, 1000, false, true},
    {"deit_base_patch16_224", 224, 16, 3, 768, 12, 12, 3072, 1000, false, true},
    {"deit_tiny_distilled_patch16_224", 224, 16, 3, 192, 12, 3, 768, 1000, true, true},
    {"deit_small_distilled_patch16_224", 224, 16, 3, 384, 12, 6, 1536, 1000, true, true},
    {"deit_base_distilled_patch16_224", 224, 16, 3, 768, 12, 12, 3072, 1000, true, true},
    {"vit_fmnist_tiny_patch4_28", 28, 4, 1, 96, 4, 3, 384, 10, false, false},
    {"vit_fmnist_small_patch4_28", 28, 4, 1, 192, 6, 3, 768, 10, false, false},
    {"vit_cifar_tiny_patch4_32", 32, 4, 3, 192, 6, 3, 768, 10, false, false},
    {"vit_cifar_small_patch4_32", 32, 4, 3, 384, 8, 6, 1536, 10, false, false},
};
}  // namespace

ViTConfig vit_preset(const std::string& name) {
  for (const auto& p : kPresets)
    if (name == p.name) {
      ViTConfig c;
      c.img_size = p.img;
      c.patch_size = p.patch;
      c.in_chans = p.chans;
      c.embed_dim = p.dim;
      c.depth = p.depth;
      c.num_heads = p.heads;
      c.mlp_hidden = p.mlp;
      c.num_classes = p.classes;
      c.distilled = p.distilled;
      return c;
    }
  std::string known;
  for (const auto& p : kPresets) known += std::string(known.empty() ? "" : ", ") + p.name;
  throw Error::usage("unknown model preset \"" + name + "\" (known: " + known + ")");
}

std::vector<std::string> presets_with_shapes(const ViTConfig& c, bool timm_only) {
  std::vector<std::string> v;
  for (const auto& p : kPresets)
    if ((p.timm || !timm_only) && p.patch == c.patch_size && p.dim == c.embed_dim && p.depth == c.depth &&
        p.mlp == c.mlp_hidden)
      v.push_back(p.name);
  return v;
}

std::vector<std::string> vit_preset_names() {
  std::vector<std::string> v;
  for (const auto& p : kPresets) v.push_back(p.name);
  return v;
}

}  // namespace bb
