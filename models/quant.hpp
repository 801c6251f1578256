#pragma once
// BitNet quantisers (the fake-quant side used in training and in `validate`)
// as two tables of traits, one row per format, and the per-layer precision
// plan of a student. The packed storage of the same codes is in
// kernels/quant_formats.hpp.
//
// Weights (per matrix W[N, K], PyTorch Linear layout):
//   ternary (W1.58): γ = mean|W|; code = clip(round(W / (γ + 1e-5)), -1, 1); W̃ = code · γ
//   binary  (W1):    β = mean|W|; code = W - mean(W) > 0 ? +1 : -1;      W̃ = code · β
//   kbit    (W2/4/8): per output row n, s = max|W[n]| / Q (Q = 2^(k-1) - 1);
//                     code = clip(round(W / s), -Q, Q); W̃ = code · s
// Activations (per token, i.e. per row of x[M, K]):
//   kbit (A8/4/2): s = Q / max(max|x|, 1e-5); x̃ = clip(round(x · s), -Q-1, Q) / s
//   binary (A1):   s = mean|x|; x̃ = (x > 0 ? +1 : -1) · s
// Rounding is half to even. Backward is the straight-through estimator: the
// gradient of W̃ (x̃) is passed to W (x) unchanged, except that with clipping
// on, weights whose code was clipped (|W / scale| > Q + 0.5) get none.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bb {

enum class WeightFormat : uint8_t { kF32, kTernary, kBinary, kInt2, kInt4, kInt8 };
enum class ActFormat : uint8_t { kF32, kInt8, kInt4, kInt2, kBinary };

struct WeightQuantTraits {
  WeightFormat format;
  const char* token;  // spec name part after "W": "1.58", "1", "2", "4", "8" ("" for fp32)
  double bits;        // information bits per weight (1.58 = log2 3)
  int qmax;           // largest code magnitude
  bool per_row;       // one scale per output row (else one per matrix)
  bool clips;         // codes can saturate (the STE then blocks those weights' gradient)
  // codes[N, K] in [-qmax, qmax] (binary: ±1); scales[N] (per_row) or scales[0].
  void (*codes)(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales);
};

// wq[N, K] = codes · scale (the dequantised weights), via t.codes; codes is
// scratch of N·K. For fp32 wq is a copy of w.
void fake_quant_weights(const WeightQuantTraits& t, const float* w, int64_t N, int64_t K, int8_t* codes, float* wq,
                        float* scales);
// The STE's clipping: zero dw where the code of w saturated (|w / scale| > qmax + 0.5).
void ste_clip_mask(const WeightQuantTraits& t, const float* w, int64_t N, int64_t K, const float* scales, float* dw);

struct ActQuantTraits {
  ActFormat format;
  const char* token;  // "8", "4", "2", "1" ("" for fp32)
  int bits;
  int qmax;
  // xq[M, K] = dequantised x, per row.
  void (*fake_quant)(const float* x, int64_t M, int64_t K, float* xq);
};

const WeightQuantTraits& weight_traits(WeightFormat f);
const ActQuantTraits& act_traits(ActFormat f);

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

// The Linear layers of a block that BitLinear replaces, in forward order.
enum BlockLinear { kQkv = 0, kProj = 1, kFc1 = 2, kFc2 = 3 };
inline constexpr const char* kBlockLinearNames[4] = {"attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"};

// Which spec each Linear of a model runs at. Attention matmuls stay fp32.
struct QuantPlan {
  std::vector<std::array<QuantSpec, 4>> blocks;  // per block: qkv, proj, fc1, fc2
  QuantSpec patch_embed, head;                   // FP32 unless a config says otherwise
  bool subln = false;    // LayerNorm (no affine) before the activation quantiser, as BitNet's BitLinear
  bool ste_clip = true;  // zero the gradient of clipped weight codes
  QuantSpec spec;        // the default block spec the plan was built from (its name names the student)
  // Not stored: the weights are already dequantised codes (a packed file), so
  // the forward uses them as they are instead of quantising them again.
  bool weights_quantized = false;

  bool any() const;
  // Every block at `spec`; overrides per block index.
  static QuantPlan uniform(int depth, const QuantSpec& spec);
};
nlohmann::json to_json(const QuantPlan& p);
QuantPlan quant_plan_from_json(const nlohmann::json& j, int depth);  // inverse of to_json; Error(Input) when inconsistent

// Fraction of exactly-zero codes over the plan's ternary layers (0 when none).
struct ViTParams;
double ternary_zero_fraction(const ViTParams& p, const QuantPlan& plan);
// Number of weights the plan quantises (the rest stay fp32).
int64_t quantized_weight_count(const ViTParams& p, const QuantPlan& plan);

}  // namespace bb
