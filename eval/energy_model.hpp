#pragma once
// Energy per image, modelled from operation counts: a model, not a
// measurement. Each multiply-accumulate of a Linear or an attention matmul
// costs what its arithmetic costs in Horowitz's 45 nm table; the weights are
// read from DRAM once per batch. Left out: element-wise work (softmax, GELU,
// LayerNorm, quantisers), activation traffic, caches, control.
//
// Horowitz, "Computing's energy problem (and what we can do about it)",
// ISSCC 2014 (45 nm, 0.9 V), as tabulated by Han et al., ICLR 2016:
//   8-bit int add 0.03 pJ, 32-bit int add 0.1, 8-bit int mult 0.2,
//   32-bit float add 0.9, 32-bit float mult 3.7, 32-bit DRAM read 640 pJ.
// A MAC here:
//   float (either side fp32):            float mult + float add   4.6 pJ
//   integer codes, weights beyond ±1:     8-bit mult + 32-bit add  0.3 pJ
//   weights in {−1, 0, +1} (ternary, binary) on k-bit codes: no multiply, a 32-bit add 0.1 pJ
//   both sides ±1 (W1A1, XNOR + popcount): assumed one 32-bit add per 32 weights,
//                                           0.1 / 32 pJ (Horowitz has no 1-bit row)
//   weights: 640 pJ per 32 bits of the weights as the backend holds them.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "models/quant.hpp"
#include "models/vit_config.hpp"

namespace bb {

struct EnergyEstimate {
  // MACs per image by kind, and their energy.
  int64_t float_macs = 0, int_mult_macs = 0, add_macs = 0, xnor_macs = 0;
  double compute_pj = 0;       // per image
  double weight_read_pj = 0;   // per batch (the weights read once)
  double per_image_pj(int batch) const { return compute_pj + weight_read_pj / batch; }
};

// plan: null for an fp32 model; weight_bytes: the weights as the backend
// holds them; int8_gemm: the backend multiplies every pair of codes in int8
// (oneDNN's s8s8 matmul), whatever the weights' range.
EnergyEstimate estimate_energy(const ViTConfig& c, const QuantPlan* plan, int64_t weight_bytes, bool int8_gemm = false);

// report.json: a model's "energy_model" entry (batch 1 and 64, the parts) and
// the table every entry was computed from (the report's "energy_table").
nlohmann::ordered_json to_json(const EnergyEstimate& e);
nlohmann::ordered_json energy_table_json();

}  // namespace bb
