#pragma once
// A student's precision: the spec of one Linear ("W1.58A8": a weight and an
// activation format from kernels/quant_format.hpp, which holds every fact about
// each format) and the per-layer plan of a student, with the one walk over
// the Linears a plan covers (plan_linears) that the runner, the engine, the
// packed export and the counts all use.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/quant_format.hpp"
#include "models/vit_config.hpp"

namespace bb {

// A layer's precision: "W1.58A8", "W1A1", "W8A8", ... or "FP32".
struct QuantSpec {
  WeightFormat w = WeightFormat::kF32;
  ActFormat a = ActFormat::kF32;
  bool quantized() const { return w != WeightFormat::kF32 || a != ActFormat::kF32; }
  std::string name() const;  // "W1.58A8"; "FP32"; "W1.58A32" / "W32A8" when only one side is quantised
  bool operator==(const QuantSpec&) const = default;
};
// Case-insensitive; Error(Usage) naming the accepted forms otherwise.
QuantSpec parse_quant_spec(const std::string& s);
// An activation format alone: "A8", "A4", "A2", "A1", or "FP32" / "A32"
// (case-insensitive; Error(Usage) otherwise), and its name ("A2", "FP32").
ActFormat parse_act_format(const std::string& s);
std::string act_format_name(ActFormat f);


// Which spec each Linear of a model runs at, and at which formats the two
// attention matmuls run (fp32 unless attn_qk / attn_pv say otherwise).
struct QuantPlan {
  std::vector<std::array<QuantSpec, 4>> blocks;  // per block: qkv, proj, fc1, fc2
  QuantSpec patch_embed, head;                   // FP32 unless a config says otherwise
  bool subln = false;    // LayerNorm (no affine) before the activation quantiser, as BitNet's BitLinear
  bool ste_clip = true;  // zero the gradient of clipped weight codes
  bool act_ste_clip = false;  // zero the gradient of inputs outside their row's code range (training only)
  ActScale act_scale = ActScale::kAbsMax;  // how kbit activation steps are set (quant_format.hpp)
  // Attention on integer codes (kernels/attention_quant.hpp): q·kᵀ with q and k
  // at attn_qk; attention·v with the probabilities (unsigned) and v at attn_pv.
  ActFormat attn_qk = ActFormat::kF32, attn_pv = ActFormat::kF32;
  // Integer-only blocks (issue #33): softmax and GELU on integer codes
  // (kernels/int_ops.hpp), k at one step per head; needs attn_qk and attn_pv.
  bool integer = false;
  // The block LayerNorms (with SubLN, if on) and the quantiser of the Linear
  // after each as one integer function (kernels/int_layernorm.hpp); needs
  // `integer`, the absmax rule and k-bit activations at qkv and fc1.
  bool int_layernorm = false;
  QuantSpec spec;        // the default block spec the plan was built from (its name names the student)
  // Not stored: the weights are already dequantised codes (a packed file), so
  // the forward uses them as they are instead of quantising them again.
  bool weights_quantized = false;

  bool any() const;
  // What the report calls it: spec's name, or for a per-layer plan (a searched
  // student) "mixed 13xW1A8 2xW8A8 1xW1.58A8" (block Linears per spec, most first).
  std::string label() const;
  bool attn_quantized() const { return attn_qk != ActFormat::kF32 || attn_pv != ActFormat::kF32; }
  // Every block at `spec`; overrides per block index.
  static QuantPlan uniform(int depth, const QuantSpec& spec);
};
// Its JSON (configs and files alike): models/quant_plan_json.hpp.

// One Linear of a model under a plan, in forward order: patch_embed, each
// block's qkv, proj, fc1, fc2, head, and head_dist when the model is distilled
// (it shares head's spec). spec is FP32 where the plan leaves the layer alone.
enum class LinearSite : uint8_t { kPatch, kBlock, kHead, kHeadDist };
struct PlannedLinear {
  std::string name;  // timm weight name, e.g. "blocks.3.attn.qkv.weight"
  QuantSpec spec;
  int64_t N = 0, K = 0;  // weight [N, K]
  LinearSite site = LinearSite::kBlock;
  int block = -1;  // kBlock: block index and BlockLinear slot
  int slot = -1;
};
std::vector<PlannedLinear> plan_linears(const ViTConfig& c, const QuantPlan& plan);

// Fraction of exactly-zero codes over the plan's ternary layers (0 when none).
struct ViTParams;
double ternary_zero_fraction(const ViTParams& p, const QuantPlan& plan);
// Number of weights the plan quantises (the rest stay fp32).
int64_t quantized_weight_count(const ViTParams& p, const QuantPlan& plan);

}  // namespace bb
