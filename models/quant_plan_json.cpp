#include "models/quant_plan_json.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace bb {
namespace {

// A spec or activation format named in the JSON, its error at the key's path.
template <class F>
auto parse_at(const std::string& file, const std::string& at, F parse) {
  try {
    return parse();
  } catch (const Error& e) {
    throw Error::config(file, at, e.what());
  }
}

QuantSpec spec_at(const std::string& file, const std::string& at, const nlohmann::json& v) {
  if (!v.is_string()) throw Error::config(file, at, "must be a quant spec string such as \"W8A8\", got " + describe_json(v));
  return parse_at(file, at, [&] { return parse_quant_spec(v.get<std::string>()); });
}

// A block's specs: one for its four Linears, or [qkv, proj, fc1, fc2].
std::array<QuantSpec, 4> block_specs(const std::string& file, const std::string& at, const nlohmann::json& v) {
  if (v.is_string()) {
    const QuantSpec s = spec_at(file, at, v);
    return {s, s, s, s};
  }
  if (!v.is_array() || v.size() != 4)
    throw Error::config(file, at, "must be a quant spec such as \"W8A8\" or 4 of them [qkv, proj, fc1, fc2]");
  std::array<QuantSpec, 4> out;
  for (size_t i = 0; i < 4; ++i) out[i] = spec_at(file, at + "/" + std::to_string(i), v[i]);
  return out;
}

bool is_index(const std::string& k) {
  return !k.empty() && k.size() <= 6 && std::all_of(k.begin(), k.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

void read_blocks(const nlohmann::json& b, const std::string& file, const std::string& at, QuantPlanJson& q) {
  if (b.is_array()) {  // the old spelling: every block listed, in order
    for (size_t i = 0; i < b.size(); ++i) q.blocks[static_cast<int>(i)] = block_specs(file, at + "/" + std::to_string(i), b[i]);
    q.listed_blocks = static_cast<int>(b.size());
    return;
  }
  if (!b.is_object()) throw Error::config(file, at, "must be an object {\"block index\": \"spec\"}");
  for (const auto& [k, v] : b.items()) {
    if (!is_index(k)) throw Error::config(file, at + "/" + k, "block keys are indices (\"0\", \"1\", ...)");
    q.blocks[std::stoi(k)] = block_specs(file, at + "/" + k, v);
  }
}

// "ste": "clipped" | "identity", or the old spelling "ste_clip": true | false (not both).
bool read_ste(JsonReader& r, const std::string& file, const std::string& path) {
  std::string ste = "clipped";
  r.read_enum("ste", ste, {"clipped", "identity"});
  if (!r.has("ste_clip")) return ste == "clipped";
  if (r.has("ste")) throw Error::config(file, path + "/ste_clip", "the old spelling of \"ste\": give one of them");
  bool clip = true;
  r.read("ste_clip", clip);
  return clip;
}

}  // namespace

QuantPlanJson read_quant_plan_json(const nlohmann::json& j, const std::string& file, const std::string& path) {
  JsonReader r(j, file, path);
  std::string spec = "W1.58rA8", patch = "FP32", head = "FP32", act_ste = "identity", act_scale = "absmax",
              attn_qk = "FP32", attn_pv = "FP32";
  r.read("spec", spec);
  r.read("patch_embed", patch);
  r.read("head", head);
  r.read_enum("act_ste", act_ste, {"identity", "clipped"});
  r.read_enum("act_scale", act_scale, {"absmax", "absmean"});
  r.read("attn_qk", attn_qk);
  r.read("attn_pv", attn_pv);
  QuantPlanJson q;
  QuantPlan& p = q.base;
  p.spec = spec_at(file, path + "/spec", spec);
  p.patch_embed = spec_at(file, path + "/patch_embed", patch);
  p.head = spec_at(file, path + "/head", head);
  r.read("subln", p.subln);
  r.read("integer", p.integer);
  r.read("int_layernorm", p.int_layernorm);
  p.ste_clip = read_ste(r, file, path);
  p.act_ste_clip = act_ste == "clipped";
  act_scale_from_name(act_scale, p.act_scale);
  p.attn_qk = parse_at(file, path + "/attn_qk", [&] { return parse_act_format(attn_qk); });
  p.attn_pv = parse_at(file, path + "/attn_pv", [&] { return parse_act_format(attn_pv); });
  if (const nlohmann::json* b = r.raw("blocks")) read_blocks(*b, file, path + "/blocks", q);
  r.finish();
  if (p.integer && (p.attn_qk == ActFormat::kF32 || p.attn_pv == ActFormat::kF32))
    throw Error::config(file, path + "/integer",
                        "integer-only blocks run q·kᵀ and attention·v on integer codes: give attn_qk and attn_pv "
                        "too (e.g. \"attn_qk\": \"A8\", \"attn_pv\": \"A8\")");
  if (p.int_layernorm && !p.integer)
    throw Error::config(file, path + "/int_layernorm", "the integer LayerNorm is part of integer-only blocks: set \"integer\": true too");
  if (p.int_layernorm && p.act_scale != ActScale::kAbsMax)
    throw Error::config(file, path + "/int_layernorm",
                        "the integer LayerNorm quantises by the absmax rule: drop \"act_scale\": \"absmean\" or the integer LayerNorm");
  return q;
}

QuantPlan QuantPlanJson::plan(int depth, const std::string& file, const std::string& path) const {
  if (listed_blocks && *listed_blocks != depth)
    throw Error::config(file, path + "/blocks",
                        "lists " + std::to_string(*listed_blocks) + " blocks, the model has " + std::to_string(depth));
  QuantPlan p = base;
  p.blocks.assign(static_cast<size_t>(depth), {p.spec, p.spec, p.spec, p.spec});
  for (const auto& [i, s] : blocks) {
    if (i >= depth)
      throw Error::config(file, path + "/blocks/" + std::to_string(i),
                          "block " + std::to_string(i) + " is beyond the model's depth (" + std::to_string(depth) + ")");
    p.blocks[static_cast<size_t>(i)] = s;
  }
  return p;
}

QuantPlan quant_plan_from_json(const nlohmann::json& j, int depth, const std::string& file, const std::string& path) {
  return read_quant_plan_json(j, file, path).plan(depth, file, path);
}

nlohmann::json to_json(const QuantPlan& p) {
  nlohmann::json j = {{"spec", p.spec.name()},
                      {"patch_embed", p.patch_embed.name()},
                      {"head", p.head.name()},
                      {"subln", p.subln},
                      {"ste", p.ste_clip ? "clipped" : "identity"}};
  nlohmann::json blocks = nlohmann::json::object();
  for (size_t i = 0; i < p.blocks.size(); ++i) {
    const auto& b = p.blocks[i];
    if (b[0] == p.spec && b[1] == p.spec && b[2] == p.spec && b[3] == p.spec) continue;
    const bool one = b[1] == b[0] && b[2] == b[0] && b[3] == b[0];
    blocks[std::to_string(i)] = one ? nlohmann::json(b[0].name())
                                    : nlohmann::json{b[0].name(), b[1].name(), b[2].name(), b[3].name()};
  }
  if (!blocks.empty()) j["blocks"] = blocks;
  if (p.act_ste_clip) j["act_ste"] = "clipped";
  if (p.act_scale != ActScale::kAbsMax) j["act_scale"] = act_scale_name(p.act_scale);
  if (p.attn_qk != ActFormat::kF32) j["attn_qk"] = act_format_name(p.attn_qk);
  if (p.attn_pv != ActFormat::kF32) j["attn_pv"] = act_format_name(p.attn_pv);
  if (p.integer) j["integer"] = true;
  if (p.int_layernorm) j["int_layernorm"] = true;
  return j;
}

}  // namespace bb
