#pragma once
// ViT checkpoints as timm-named safetensors. The config comes from the file's
// metadata "bitbench.config" (safetensors.hpp: own_metadata), or the caller
// (refused where it contradicts the file), or the tensor shapes.
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
// cls/dist tokens, qkv bias, fc_norm (average pooling) and a student's
// RSign/RPReLU/probability-scale tensors by presence. num_heads and ln_eps are
// not in the shapes: the file's metadata "num_heads" (or the num_heads of its
// "config"), else timm's table when the shapes are a timm architecture's
// (heads_from says which); otherwise unknown — never guessed (docs/MODELS.md).
struct ShapeInference {
  ViTConfig config;
  std::string heads_from;  // "metadata bitbench.num_heads", "metadata config", "timm's table (<name>)"; "" = unknown
  std::string hint;        // a bitbench preset with these shapes, for the message
};
ShapeInference infer_from_shapes(const SafetensorsFile& f);
// Whether the file states a ViT config (bitbench.config, or a foreign "config" that reads as one).
bool states_vit_config(const SafetensorsFile& f);
// The same, Error(Input) naming the file and the flags to pass when num_heads is unknown.
ViTConfig infer_vit_config(const SafetensorsFile& f);

// A config the user gave for a checkpoint, and how ("--model deit_tiny_patch16_224"), for messages.
struct GivenConfig {
  GivenConfig(ViTConfig c, std::string how = "the given model config") : config(std::move(c)), flag(std::move(how)) {}
  ViTConfig config;
  std::string flag;
};
// Error(Usage) when `given` differs from the config the file states, listing the fields.
void refuse_contradiction(const ViTConfig& stated, const GivenConfig& given, const std::string& path);

struct LoadedViT {
  ViTParams params;
  std::map<std::string, std::string> metadata;
  std::string config_source;  // "argument", "metadata" or "inferred (num_heads from ...)"
};

LoadedViT load_vit(const std::string& path, const std::optional<GivenConfig>& given = std::nullopt);
LoadedViT load_vit(const SafetensorsFile& f, const std::optional<GivenConfig>& given = std::nullopt);

// Writes F32 tensors in layout order with metadata {"format", "config", ...extra}.
void save_vit(const std::string& path, const ViTParams& p, const std::map<std::string, std::string>& extra = {});

}  // namespace bb
