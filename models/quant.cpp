#include "models/quant.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.hpp"
#include "core/simd.hpp"
#include "models/vit_params.hpp"

namespace bb {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string QuantSpec::name() const {
  if (!quantized()) return "FP32";
  const char* wt = weight_traits(w).token;
  const char* at = act_traits(a).token;
  return std::string("W") + (*wt ? wt : "32") + "A" + (*at ? at : "32");
}

QuantSpec parse_quant_spec(const std::string& text) {
  const std::string s = lower(text);
  if (s == "fp32" || s == "w32a32") return {};
  const auto a = s.find('a');
  if (s.size() > 1 && s[0] == 'w' && a != std::string::npos) {
    const std::string wt = s.substr(1, a - 1), at = s.substr(a + 1);
    QuantSpec q;
    const bool w_ok = wt == "32" || weight_format_from_token(wt, q.w);
    const bool a_ok = at == "32" || act_format_from_token(at, q.a);
    if (w_ok && a_ok) return q;
  }
  throw Error::usage("unknown quant spec \"" + text + "\" (weights " + weight_format_tokens() + " or W32; activations " +
                     act_format_tokens() + " or A32; e.g. W1.58rA8, W1A1, or FP32)");
}

ActFormat parse_act_format(const std::string& text) {
  const std::string s = lower(text);
  ActFormat f = ActFormat::kF32;
  if (s == "fp32" || s == "a32") return f;
  if (s.size() > 1 && s[0] == 'a' && act_format_from_token(s.substr(1), f)) return f;
  throw Error::usage("unknown activation format \"" + text + "\" (" + act_format_tokens() + " or FP32)");
}

std::string act_format_name(ActFormat f) {
  return f == ActFormat::kF32 ? "FP32" : std::string("A") + act_traits(f).token;
}

bool QuantPlan::any() const {
  if (patch_embed.quantized() || head.quantized() || attn_quantized()) return true;
  for (const auto& b : blocks)
    for (const auto& s : b)
      if (s.quantized()) return true;
  return false;
}

QuantPlan QuantPlan::uniform(int depth, const QuantSpec& spec) {
  QuantPlan p;
  p.spec = spec;
  p.blocks.assign(static_cast<size_t>(depth), {spec, spec, spec, spec});
  return p;
}

nlohmann::json to_json(const QuantPlan& p) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : p.blocks) blocks.push_back({b[0].name(), b[1].name(), b[2].name(), b[3].name()});
  nlohmann::json j = {{"spec", p.spec.name()},         {"subln", p.subln}, {"ste_clip", p.ste_clip},
                      {"patch_embed", p.patch_embed.name()}, {"head", p.head.name()}, {"blocks", blocks}};
  // Written only when not the default, so that earlier plans' recipes (and stage-cache hashes) stay as they were.
  if (p.act_scale != ActScale::kAbsMax) j["act_scale"] = act_scale_name(p.act_scale);
  if (p.attn_qk != ActFormat::kF32) j["attn_qk"] = act_format_name(p.attn_qk);
  if (p.attn_pv != ActFormat::kF32) j["attn_pv"] = act_format_name(p.attn_pv);
  if (p.act_ste_clip) j["act_ste"] = "clipped";
  return j;
}

QuantPlan quant_plan_from_json(const nlohmann::json& j, int depth) {
  QuantPlan p;
  p.spec = parse_quant_spec(j.at("spec").get<std::string>());
  p.subln = j.at("subln").get<bool>();
  p.ste_clip = j.at("ste_clip").get<bool>();
  if (j.contains("act_scale") && !act_scale_from_name(j.at("act_scale").get<std::string>(), p.act_scale))
    throw Error::usage("quant plan act_scale must be absmax or absmean");
  if (j.contains("attn_qk")) p.attn_qk = parse_act_format(j.at("attn_qk").get<std::string>());
  if (j.contains("attn_pv")) p.attn_pv = parse_act_format(j.at("attn_pv").get<std::string>());
  if (j.contains("act_ste")) {
    const std::string ste = j.at("act_ste").get<std::string>();
    if (ste != "clipped" && ste != "identity") throw Error::usage("quant plan act_ste must be identity or clipped");
    p.act_ste_clip = ste == "clipped";
  }
  p.patch_embed = parse_quant_spec(j.at("patch_embed").get<std::string>());
  p.head = parse_quant_spec(j.at("head").get<std::string>());
  const auto& blocks = j.at("blocks");
  if (static_cast<int>(blocks.size()) != depth)
    throw Error::usage("quant plan has " + std::to_string(blocks.size()) + " blocks, the model " + std::to_string(depth));
  for (const auto& b : blocks) {
    if (b.size() != 4) throw Error::usage("quant plan block needs 4 specs (qkv, proj, fc1, fc2)");
    p.blocks.push_back({parse_quant_spec(b[0]), parse_quant_spec(b[1]), parse_quant_spec(b[2]), parse_quant_spec(b[3])});
  }
  return p;
}

std::vector<PlannedLinear> plan_linears(const ViTConfig& c, const QuantPlan& plan) {
  const int64_t D = c.embed_dim;
  const auto NK = c.block_linear_nk();
  std::vector<PlannedLinear> out;
  out.push_back({"patch_embed.proj.weight", plan.patch_embed, D, c.patch_dim(), LinearSite::kPatch});
  for (int l = 0; l < c.depth; ++l)
    for (int i = 0; i < 4; ++i) {
      const QuantSpec spec = static_cast<size_t>(l) < plan.blocks.size() ? plan.blocks[static_cast<size_t>(l)][static_cast<size_t>(i)] : QuantSpec{};
      out.push_back({"blocks." + std::to_string(l) + "." + kBlockLinearNames[i] + ".weight", spec, NK[i][0], NK[i][1], LinearSite::kBlock, l, i});
    }
  out.push_back({"head.weight", plan.head, c.num_classes, D, LinearSite::kHead});
  if (c.distilled) out.push_back({"head_dist.weight", plan.head, c.num_classes, D, LinearSite::kHeadDist});
  return out;
}

double ternary_zero_fraction(const ViTParams& p, const QuantPlan& plan) {
  int64_t zeros = 0, total = 0;
  for (const PlannedLinear& l : plan_linears(p.cfg, plan)) {
    const WeightFormatTraits& t = weight_traits(l.spec.w);
    if (t.min_code != -1 || t.max_code != 1 || t.no_zero) continue;  // codes exactly {-1, 0, 1}
    std::vector<int8_t> codes(static_cast<size_t>(l.N * l.K));
    std::vector<float> scales(static_cast<size_t>(t.per_row ? l.N : 1));
    t.codes(p.data(*p.find(l.name)), l.N, l.K, codes.data(), scales.data());
    zeros += std::count(codes.begin(), codes.end(), int8_t{0});
    total += l.N * l.K;
  }
  return total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0;
}

int64_t quantized_weight_count(const ViTParams& p, const QuantPlan& plan) {
  int64_t n = 0;
  for (const PlannedLinear& l : plan_linears(p.cfg, plan))
    if (l.spec.w != WeightFormat::kF32) n += l.N * l.K;
  return n;
}

}  // namespace bb
