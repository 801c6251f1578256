#pragma once
// A ViT's parameters in one flat float buffer (llm.c style) with named views
// in timm's order and names. Gradients and optimizer moments can be buffers of
// the same length; safetensors I/O is a walk over `entries`.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "models/vit_config.hpp"

namespace bb {

// How init_random fills a tensor: timm's rule for its kind (from its name),
// or a constant — the low-bit extras start as the identity.
enum class ParamInit : uint8_t { kTimm, kZero, kOne };

struct ParamEntry {
  std::string name;            // timm name, e.g. "blocks.3.attn.qkv.weight"
  std::vector<int64_t> shape;  // timm shape
  int64_t offset = 0;          // into the flat buffer; -1 once released (release_tensors)
  int64_t numel = 0;
  ParamInit init = ParamInit::kTimm;
};

struct BlockParams {
  float *norm1_w, *norm1_b;  // [D]
  float *qkv_w, *qkv_b;      // [3D, D], [3D] (qkv_b null without qkv_bias)
  float *proj_w, *proj_b;    // [D, D], [D]
  float *norm2_w, *norm2_b;  // [D]
  float *fc1_w, *fc1_b;      // [Hm, D], [Hm]
  float *fc2_w, *fc2_b;      // [D, Hm], [D]
  // Per Linear (BlockLinear order), null unless the config has them:
  float* act_shift[4];       // rsign: "<linear>.act_shift" [K]
  float* rprelu_in[4];       // rprelu: "<linear>.rprelu_in" γ [N]
  float* rprelu_slope[4];    //         "<linear>.rprelu_slope" β [N]
  float* rprelu_out[4];      //         "<linear>.rprelu_out" ζ [N]
  float* attn_prob_scale;    // attn_prob_scale: "attn.prob_scale" [H]
};

struct ViTParams {
  ViTConfig cfg;
  std::vector<ParamEntry> entries;
  Tensor flat;  // [total]
  float *patch_w, *patch_b;        // [D, C*P*P] (timm [D, C, P, P]), [D]
  float *cls_token, *dist_token;   // [D] each (null when absent)
  float* pos_embed;                // [T, D]
  std::vector<BlockParams> blocks;
  float *norm_w, *norm_b;          // [D]: "norm" (token pool) or "fc_norm" (avg pool)
  float *head_w, *head_b;          // [classes, D], [classes]
  float *head_dist_w, *head_dist_b;  // DeiT distilled only

  explicit ViTParams(const ViTConfig& c);
  ViTParams(ViTParams&&) = default;
  // The model's parameter count (released tensors included).
  int64_t count() const { return count_; }
  // Floats held in memory (count() less the released tensors).
  int64_t resident() const { return flat.numel(); }
  const ParamEntry* find(const std::string& name) const;
  // Null for a released tensor.
  float* data(const ParamEntry& e) const { return e.offset < 0 ? nullptr : flat.data() + e.offset; }
  // Frees these tensors' floats (the flat buffer is rebuilt without them;
  // their views become null): an inference engine that holds a layer's
  // weights in its own layout keeps no fp32 copy. Unknown names are ignored.
  void release_tensors(const std::vector<std::string>& names);
  // timm's initialisation (see vit_params.cpp), seeded per tensor.
  void init_random(uint64_t seed);

 private:
  void bind_views();
  int64_t count_ = 0;
};

// The layout alone (names, shapes, offsets) for a config.
std::vector<ParamEntry> vit_param_layout(const ViTConfig& c);

}  // namespace bb
