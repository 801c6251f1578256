#include "models/quant.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.hpp"
#include "kernels/simd.hpp"
#include "models/vit_params.hpp"

namespace bb {
namespace {

constexpr float kEps = 1e-5f;

float round_even(float v) { return std::nearbyint(v); }  // default rounding mode: half to even

// --- weights -----------------------------------------------------------------

float mean_abs(const float* w, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(w[i]);
  return n > 0 ? static_cast<float>(s / static_cast<double>(n)) : 0.0f;
}

void ternary_codes(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales) {
  const float g = mean_abs(w, N * K);
  for (int64_t i = 0; i < N * K; ++i) codes[i] = static_cast<int8_t>(std::clamp(round_even(w[i] / (g + kEps)), -1.0f, 1.0f));
  scales[0] = g;
}

void binary_codes(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales) {
  double m = 0;
  for (int64_t i = 0; i < N * K; ++i) m += w[i];
  const float mean = N * K > 0 ? static_cast<float>(m / static_cast<double>(N * K)) : 0.0f;
  for (int64_t i = 0; i < N * K; ++i) codes[i] = w[i] - mean > 0 ? 1 : -1;
  scales[0] = mean_abs(w, N * K);
}

template <int Q>
void kbit_codes(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales) {
  for (int64_t n = 0; n < N; ++n) {
    float mx = 0;
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, std::fabs(w[n * K + k]));
    const float s = mx / Q;
    for (int64_t k = 0; k < K; ++k)
      codes[n * K + k] = s > 0 ? static_cast<int8_t>(std::clamp(round_even(w[n * K + k] / s), float(-Q), float(Q))) : 0;
    scales[n] = s;
  }
}

void f32_codes(const float*, int64_t, int64_t, int8_t*, float*) {
  throw Error::usage("fp32 weights have no integer codes");
}

const WeightQuantTraits kWeightTraits[] = {
    {WeightFormat::kF32, "", 32.0, 0, false, false, f32_codes},
    {WeightFormat::kTernary, "1.58", 1.584962500721156, 1, false, true, ternary_codes},
    {WeightFormat::kBinary, "1", 1.0, 1, false, false, binary_codes},
    {WeightFormat::kInt2, "2", 2.0, 1, true, false, kbit_codes<1>},
    {WeightFormat::kInt4, "4", 4.0, 7, true, false, kbit_codes<7>},
    {WeightFormat::kInt8, "8", 8.0, 127, true, false, kbit_codes<127>},
};

// --- activations (hot in training: vectorised per ISA) ----------------------

// Per row: s = Q / max(max|x|, eps); xq = clip(round(x s), -Q-1, Q) / s. The
// magic-number add rounds half to even for |v| < 2^22 and vectorises.
template <int Q>
BB_INLINE void act_kbit_rows(const float* __restrict x, int64_t M, int64_t K, float* __restrict xq) {
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * K;
    float* q = xq + m * K;
    float mx = 0;
    for (int64_t k = 0; k < K; ++k) {
      const float a = xr[k] < 0 ? -xr[k] : xr[k];
      mx = a > mx ? a : mx;
    }
    const float s = static_cast<float>(Q) / (mx > kEps ? mx : kEps), inv = 1.0f / s;
    for (int64_t k = 0; k < K; ++k) {
      float v = (xr[k] * s + 12582912.0f) - 12582912.0f;
      v = v < -Q - 1.0f ? -Q - 1.0f : v;
      v = v > Q ? static_cast<float>(Q) : v;
      q[k] = v * inv;
    }
  }
}
BB_INLINE void act8_body(const float* x, int64_t M, int64_t K, float* xq) { act_kbit_rows<127>(x, M, K, xq); }
BB_INLINE void act4_body(const float* x, int64_t M, int64_t K, float* xq) { act_kbit_rows<7>(x, M, K, xq); }
BB_INLINE void act2_body(const float* x, int64_t M, int64_t K, float* xq) { act_kbit_rows<1>(x, M, K, xq); }
BB_INLINE void act1_body(const float* __restrict x, int64_t M, int64_t K, float* __restrict xq) {
  for (int64_t m = 0; m < M; ++m) {
    float s = 0;
    for (int64_t k = 0; k < K; ++k) s += x[m * K + k] < 0 ? -x[m * K + k] : x[m * K + k];
    s /= static_cast<float>(K);
    for (int64_t k = 0; k < K; ++k) xq[m * K + k] = x[m * K + k] > 0 ? s : -s;
  }
}
BB_MULTIVERSION(act8, (const float* x, int64_t M, int64_t K, float* xq), (x, M, K, xq))
BB_MULTIVERSION(act4, (const float* x, int64_t M, int64_t K, float* xq), (x, M, K, xq))
BB_MULTIVERSION(act2, (const float* x, int64_t M, int64_t K, float* xq), (x, M, K, xq))
BB_MULTIVERSION(act1, (const float* x, int64_t M, int64_t K, float* xq), (x, M, K, xq))

// Rows in parallel chunks (the result does not depend on the thread count).
template <void (*Rows)(const float*, int64_t, int64_t, float*)>
void act_parallel(const float* x, int64_t M, int64_t K, float* xq) {
  constexpr int64_t kRows = 64;
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; m += kRows) Rows(x + m * K, std::min(kRows, M - m), K, xq + m * K);
}
void act_f32(const float* x, int64_t M, int64_t K, float* xq) { std::copy(x, x + M * K, xq); }

const ActQuantTraits kActTraits[] = {
    {ActFormat::kF32, "", 32, 0, act_f32},
    {ActFormat::kInt8, "8", 8, 127, act_parallel<act8>},
    {ActFormat::kInt4, "4", 4, 7, act_parallel<act4>},
    {ActFormat::kInt2, "2", 2, 1, act_parallel<act2>},
    {ActFormat::kBinary, "1", 1, 1, act_parallel<act1>},
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

void fake_quant_weights(const WeightQuantTraits& t, const float* w, int64_t N, int64_t K, int8_t* codes, float* wq,
                        float* scales) {
  if (t.format == WeightFormat::kF32) {
    std::copy(w, w + N * K, wq);
    scales[0] = 1.0f;
    return;
  }
  t.codes(w, N, K, codes, scales);
  for (int64_t n = 0; n < N; ++n) {
    const float s = scales[t.per_row ? n : 0];
    for (int64_t k = 0; k < K; ++k) wq[n * K + k] = static_cast<float>(codes[n * K + k]) * s;
  }
}

void ste_clip_mask(const WeightQuantTraits& t, const float* w, int64_t N, int64_t K, const float* scales, float* dw) {
  if (!t.clips) return;
  const float limit = static_cast<float>(t.qmax) + 0.5f;
  for (int64_t n = 0; n < N; ++n) {
    // Ternary divides by (γ + eps) before rounding; the per-row formats by s.
    const float s = scales[t.per_row ? n : 0] + (t.format == WeightFormat::kTernary ? kEps : 0.0f);
    for (int64_t k = 0; k < K; ++k)
      if (std::fabs(w[n * K + k]) > limit * s) dw[n * K + k] = 0;
  }
}

const WeightQuantTraits& weight_traits(WeightFormat f) { return kWeightTraits[static_cast<int>(f)]; }
const ActQuantTraits& act_traits(ActFormat f) { return kActTraits[static_cast<int>(f)]; }

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
    bool w_ok = wt == "32", a_ok = at == "32";
    for (const auto& t : kWeightTraits)
      if (*t.token && wt == t.token) q.w = t.format, w_ok = true;
    for (const auto& t : kActTraits)
      if (*t.token && at == t.token) q.a = t.format, a_ok = true;
    if (w_ok && a_ok) return q;
  }
  throw Error::usage("unknown quant spec \"" + text +
                     "\" (weights W1.58, W1, W2, W4, W8 or W32; activations A8, A4, A2, A1 or A32; e.g. W1.58A8, "
                     "W1A1, or FP32)");
}

bool QuantPlan::any() const {
  if (patch_embed.quantized() || head.quantized()) return true;
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
  return {{"spec", p.spec.name()},         {"subln", p.subln}, {"ste_clip", p.ste_clip},
          {"patch_embed", p.patch_embed.name()}, {"head", p.head.name()}, {"blocks", blocks}};
}

QuantPlan quant_plan_from_json(const nlohmann::json& j, int depth) {
  QuantPlan p;
  p.spec = parse_quant_spec(j.at("spec").get<std::string>());
  p.subln = j.at("subln").get<bool>();
  p.ste_clip = j.at("ste_clip").get<bool>();
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

namespace {
// Calls fn(spec, weight pointer, N, K) for every Linear weight the plan covers.
template <class F>
void for_each_planned_linear(const ViTParams& p, const QuantPlan& plan, F&& fn) {
  const ViTConfig& c = p.cfg;
  const int64_t D = c.embed_dim, Hm = c.mlp_hidden;
  for (size_t l = 0; l < plan.blocks.size() && l < p.blocks.size(); ++l) {
    const BlockParams& b = p.blocks[l];
    fn(plan.blocks[l][kQkv], b.qkv_w, 3 * D, D);
    fn(plan.blocks[l][kProj], b.proj_w, D, D);
    fn(plan.blocks[l][kFc1], b.fc1_w, Hm, D);
    fn(plan.blocks[l][kFc2], b.fc2_w, D, Hm);
  }
  fn(plan.patch_embed, p.patch_w, D, c.patch_dim());
  fn(plan.head, p.head_w, int64_t{c.num_classes}, D);
}
}  // namespace

double ternary_zero_fraction(const ViTParams& p, const QuantPlan& plan) {
  int64_t zeros = 0, total = 0;
  for_each_planned_linear(p, plan, [&](const QuantSpec& s, const float* w, int64_t N, int64_t K) {
    if (s.w != WeightFormat::kTernary) return;
    std::vector<int8_t> codes(static_cast<size_t>(N * K));
    float scale;
    weight_traits(s.w).codes(w, N, K, codes.data(), &scale);
    zeros += std::count(codes.begin(), codes.end(), int8_t{0});
    total += N * K;
  });
  return total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0;
}

int64_t quantized_weight_count(const ViTParams& p, const QuantPlan& plan) {
  int64_t n = 0;
  for_each_planned_linear(p, plan, [&](const QuantSpec& s, const float*, int64_t N, int64_t K) {
    if (s.w != WeightFormat::kF32) n += N * K;
  });
  return n;
}

}  // namespace bb
