#include "eval/energy_model.hpp"

namespace bb {
namespace {

// Horowitz 2014, 45 nm (pJ).
constexpr double kInt8Add = 0.03, kInt32Add = 0.1, kInt8Mult = 0.2, kF32Add = 0.9, kF32Mult = 3.7, kDram32 = 640;
constexpr double kFloatMac = kF32Mult + kF32Add;
constexpr double kIntMac = kInt8Mult + kInt32Add;
constexpr double kAddMac = kInt32Add;
constexpr double kXnorMac = kInt32Add / 32;  // assumed: one popcount word's accumulate per 32 weights

enum class MacKind { kFloat, kIntMult, kAdd, kXnor };

// What a MAC of this weight × activation pair does, from the formats' rows:
// float when either side is, multiply-free when the weight codes are in ±1
// (and XNOR when the activations are ±1 too), an integer multiply otherwise.
MacKind mac_kind(WeightFormat w, ActFormat a, bool int8_gemm) {
  const WeightFormatTraits& wt = weight_traits(w);
  const ActFormatTraits& at = act_traits(a);
  if (w == WeightFormat::kF32 || a == ActFormat::kF32) return MacKind::kFloat;
  if (wt.qmax > 1 || int8_gemm) return MacKind::kIntMult;
  return wt.no_zero && at.no_zero ? MacKind::kXnor : MacKind::kAdd;
}

void add_macs(EnergyEstimate& e, MacKind k, int64_t n) {
  switch (k) {
    case MacKind::kFloat: e.float_macs += n; break;
    case MacKind::kIntMult: e.int_mult_macs += n; break;
    case MacKind::kAdd: e.add_macs += n; break;
    case MacKind::kXnor: e.xnor_macs += n; break;
  }
}

}  // namespace

EnergyEstimate estimate_energy(const ViTConfig& c, const QuantPlan* plan, int64_t weight_bytes, bool int8_gemm) {
  EnergyEstimate e;
  const QuantPlan fp32 = QuantPlan::uniform(c.depth, QuantSpec{});
  const QuantPlan& p = plan ? *plan : fp32;
  const int64_t T = c.tokens(), D = c.embed_dim;
  for (const PlannedLinear& l : plan_linears(c, p)) {
    // Rows the Linear runs on per image: every patch, every token, or the pooled token.
    const int64_t rows = l.site == LinearSite::kPatch ? c.num_patches() : l.site == LinearSite::kBlock ? T : 1;
    add_macs(e, mac_kind(l.spec.w, l.spec.a, int8_gemm), rows * l.N * l.K);
  }
  // Attention: q·kᵀ and probabilities·v, T·T·D MACs each per block; on codes
  // when the plan quantises them (integer multiplies: neither side is ±1 weights).
  const int64_t attn = T * T * D;
  add_macs(e, p.attn_qk == ActFormat::kF32 ? MacKind::kFloat : MacKind::kIntMult, c.depth * attn);
  add_macs(e, p.attn_pv == ActFormat::kF32 ? MacKind::kFloat : MacKind::kIntMult, c.depth * attn);
  e.compute_pj = static_cast<double>(e.float_macs) * kFloatMac + static_cast<double>(e.int_mult_macs) * kIntMac +
                 static_cast<double>(e.add_macs) * kAddMac + static_cast<double>(e.xnor_macs) * kXnorMac;
  e.weight_read_pj = static_cast<double>(weight_bytes) / 4.0 * kDram32;
  return e;
}

nlohmann::ordered_json to_json(const EnergyEstimate& e) {
  nlohmann::ordered_json j;
  j["uj_per_image_batch_1"] = e.per_image_pj(1) * 1e-6;
  j["uj_per_image_batch_64"] = e.per_image_pj(64) * 1e-6;
  j["compute_uj_per_image"] = e.compute_pj * 1e-6;
  j["weight_read_uj_per_batch"] = e.weight_read_pj * 1e-6;
  j["macs"] = {{"float", e.float_macs}, {"int_mult", e.int_mult_macs}, {"add", e.add_macs}, {"xnor", e.xnor_macs}};
  return j;
}

nlohmann::ordered_json energy_table_json() {
  nlohmann::ordered_json j;
  j["source"] = "Horowitz, \"Computing's energy problem (and what we can do about it)\", ISSCC 2014, 45 nm, 0.9 V "
                "(as tabulated by Han et al., ICLR 2016)";
  j["pj"] = {{"int8_add", kInt8Add}, {"int32_add", kInt32Add}, {"int8_mult", kInt8Mult},
             {"fp32_add", kF32Add},  {"fp32_mult", kF32Mult},  {"dram_read_32bit", kDram32}};
  j["pj_per_mac"] = {{"float", kFloatMac}, {"int_mult", kIntMac}, {"add", kAddMac}, {"xnor", kXnorMac}};
  j["rules"] = {
      "float MAC (either side fp32): fp32 mult + fp32 add",
      "integer MAC (weight codes beyond ±1, or attention on codes): int8 mult + int32 add",
      "weights in {−1, 0, +1} on integer codes: no multiply, one int32 add",
      "W1A1 (XNOR + popcount): assumed one int32 add per 32 weights (not in Horowitz's table)",
      "weights read from DRAM once per batch, as the backend holds them (640 pJ per 32 bits)",
      "left out: element-wise work (softmax, GELU, LayerNorm, quantisers), activation traffic, caches, control"};
  j["label"] = "a model from operation counts, not a measurement";
  return j;
}

}  // namespace bb
