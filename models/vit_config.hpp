#pragma once
// The shape of a Vision Transformer, named as timm names it.
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_reader.hpp"

namespace bb {

// The Linear layers of a block (those BitLinear replaces), in forward order.
enum BlockLinear { kQkv = 0, kProj = 1, kFc1 = 2, kFc2 = 3 };
inline constexpr const char* kBlockLinearNames[4] = {"attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"};

struct ViTConfig {
  int img_size = 28;
  int patch_size = 4;
  int in_chans = 1;
  int embed_dim = 96;
  int depth = 4;
  int num_heads = 3;
  int mlp_hidden = 384;  // timm: embed_dim * mlp_ratio
  bool qkv_bias = true;
  int num_classes = 10;
  bool class_token = true;
  std::string global_pool = "token";  // token | avg (avg: mean of patch tokens, then fc_norm)
  bool distilled = false;             // DeiT: dist_token + head_dist, eval output = mean of both heads
  double ln_eps = 1e-6;
  // Around each block Linear (qkv, proj, fc1, fc2) of a quantised student, in
  // forward order (docs/LOWBIT.md; each adds per-channel float operations the
  // engine runs too). Ignored on a Linear the plan leaves fp32.
  bool rsign = false;   // ReActNet's RSign: a learnable shift [K] subtracted before the activation quantiser
  bool bireal = false;  // Bi-Real Net: the Linear's real-valued input added to its output (bireal_shortcut)
  bool rprelu = false;  // ReActNet's RPReLU on the output: PReLU(y - γ; β) + ζ, each [N]
  // Bi-ViT's learnable attention scale: a factor [H] per block on the step of
  // the quantised attention probabilities (a plan's attn_pv; attention_quant.hpp).
  bool attn_prob_scale = false;

  int grid() const { return img_size / patch_size; }
  int num_patches() const { return grid() * grid(); }
  int num_prefix() const { return (class_token ? 1 : 0) + (distilled ? 1 : 0); }
  int tokens() const { return num_patches() + num_prefix(); }
  int head_dim() const { return embed_dim / num_heads; }
  int patch_dim() const { return in_chans * patch_size * patch_size; }
  // The weight shape [N, K] of each block Linear, in BlockLinear order (qkv, proj, fc1, fc2).
  std::array<std::array<int64_t, 2>, 4> block_linear_nk() const {
    const int64_t D = embed_dim, Hm = mlp_hidden;
    return {{{3 * D, D}, {D, D}, {Hm, D}, {D, Hm}}};
  }
};

// Throws Error(Input) naming `where` when the fields do not fit together.
void check(const ViTConfig& c, const std::string& where);

// {"img_size": ..} read with unknown-key and range checks (mlp_ratio accepted in
// place of mlp_hidden), starting from `start` (or from "preset" when given).
ViTConfig read_vit_config(JsonReader& r, const ViTConfig& start = ViTConfig{});
nlohmann::json to_json(const ViTConfig& c);

// timm-named presets plus bitbench's small ones (vit_fmnist_*, vit_cifar_*).
ViTConfig vit_preset(const std::string& name);
std::vector<std::string> vit_preset_names();
// The presets whose weight shapes match c's (patch size, width, depth, MLP
// width: what the tensors say); timm_only: timm's architectures alone. A head
// count is not in the shapes; timm's table gives it for these architectures.
std::vector<std::string> presets_with_shapes(const ViTConfig& c, bool timm_only);

}  // namespace bb
