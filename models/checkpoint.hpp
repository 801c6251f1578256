#pragma once
// ViT checkpoints as timm-named safetensors. The config comes from (in order)
// the caller, the file's metadata "bitbench.config" (safetensors.hpp: own_metadata), or the tensor shapes.
// Loading checks every name and shape and reports all missing, unexpected and
// mis-shaped tensors in one message.
#include <map>
#include <optional>
#include <string>

#include "models/safetensors.hpp"
#include "models/vit_params.hpp"

namespace bb {

// From shapes: patch_embed → embed_dim, in_chans, patch_size; pos_embed →
// tokens → img_size; blocks.N → depth; fc1 → mlp_hidden; head → num_classes;
// cls/dist tokens, qkv bias and fc_norm (avg pooling) by presence. num_heads is
// not in the shapes: bitbench metadata "num_heads" (or the num_heads of its
// "config") if present, else embed_dim / 64 (timm's convention for ViT-Ti/S/B/L).
ViTConfig infer_vit_config(const SafetensorsFile& f);

struct LoadedViT {
  ViTParams params;
  std::map<std::string, std::string> metadata;
  std::string config_source;  // "argument", "metadata" or "inferred"
};

LoadedViT load_vit(const std::string& path, const std::optional<ViTConfig>& config = std::nullopt);
LoadedViT load_vit(const SafetensorsFile& f, const std::optional<ViTConfig>& config = std::nullopt);

// Writes F32 tensors in layout order with metadata {"format", "config", ...extra}.
void save_vit(const std::string& path, const ViTParams& p, const std::map<std::string, std::string>& extra = {});

}  // namespace bb
