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

std::string QuantPlan::label() const {
  std::vector<std::pair<std::string, int>> counts;  // spec name, block Linears at it, in first-seen order
  for (const auto& b : blocks)
    for (const auto& s : b) {
      auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == s.name(); });
      if (it == counts.end()) counts.emplace_back(s.name(), 1);
      else ++it->second;
    }
  if (counts.empty()) return spec.name();
  if (counts.size() == 1) return counts[0].first;  // every block Linear at one spec, whatever spec says
  std::stable_sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = "mixed";
  for (const auto& [name, n] : counts) {  // appended piece by piece: GCC 12 warns (-Wrestrict) on " " + to_string(n)
    out += ' ';
    out += std::to_string(n);
    out += 'x';
    out += name;
  }
  return out;
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
