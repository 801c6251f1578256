#pragma once
// The one JSON schema of a quant plan: a distillation config's student
// "quant" section and a student file's metadata bitbench.quant say a plan
// the same way (docs/CONFIG.md, docs/MODELS.md). Every key may be left out;
// the defaults are shown:
//
//   {"spec": "W1.58rA8",                every block's qkv, proj, fc1, fc2
//    "blocks": {"0": "W8A8",            overrides by block index: one spec for
//               "3": ["W8A8", "W1.58A8", "W1.58A8", "W8A8"]},  the block, or [qkv, proj, fc1, fc2]
//    "patch_embed": "FP32", "head": "FP32", "subln": false,
//    "ste": "clipped", "act_ste": "identity", "act_scale": "absmax",
//    "attn_qk": "FP32", "attn_pv": "FP32",
//    "integer": false, "int_layernorm": false}   integer-only blocks (int_ops.hpp, int_layernorm.hpp)
//
// Files written before this schema still load: their spelling
// ("ste_clip": true/false, "blocks" as a list of [qkv, proj, fc1, fc2] with
// one entry per block) is read, never written.
#include <array>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "models/quant.hpp"

namespace bb {

// A plan as its JSON states it, before the model's depth is known.
struct QuantPlanJson {
  QuantPlan base;  // every field but blocks
  std::map<int, std::array<QuantSpec, 4>> blocks;  // overrides by block index
  std::optional<int> listed_blocks;  // the old spelling's list: how many blocks it listed (must be the depth)
  // The plan for a model of this depth; Error(Config) at file/path/blocks/<i>
  // when an override is beyond the depth (or the old list's length is not it).
  QuantPlan plan(int depth, const std::string& file, const std::string& path) const;
};

// Reads the schema (types, names and unknown keys checked); Error(Config) at file/path.
QuantPlanJson read_quant_plan_json(const nlohmann::json& j, const std::string& file, const std::string& path);
// read_quant_plan_json(j, ...).plan(depth, ...).
QuantPlan quant_plan_from_json(const nlohmann::json& j, int depth, const std::string& file, const std::string& path);
// The schema's spelling of a plan: spec, patch_embed, head, subln and ste
// always; blocks that differ from spec, act_ste, act_scale, attn_qk, attn_pv, integer and int_layernorm only
// when not the default.
nlohmann::json to_json(const QuantPlan& p);

}  // namespace bb
