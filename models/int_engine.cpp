#include "models/int_engine.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"

namespace bb {
namespace {

BitWeights kernel_weights(WeightFormat w) {
  switch (w) {
    case WeightFormat::kTernary: return BitWeights::kTernary;
    case WeightFormat::kBinary: return BitWeights::kBinary;
    case WeightFormat::kInt2: return BitWeights::kInt2;
    case WeightFormat::kInt4: return BitWeights::kInt4;
    default: return BitWeights::kInt8;
  }
}

int act_bits(ActFormat a) {
  switch (a) {
    case ActFormat::kInt8: return 8;
    case ActFormat::kInt4: return 4;
    case ActFormat::kInt2: return 2;
    case ActFormat::kBinary: return 1;
    default: return 0;
  }
}

}  // namespace

const char* int_engine_name(IntEngineKind k) { return k == IntEngineKind::kBitKernels ? "bitkernels" : "onednn-int8"; }

bool int_engine_supports(const QuantSpec& s) { return s.w != WeightFormat::kF32 && act_bits(s.a) != 0; }

IntLinear::IntLinear(IntEngineKind kind, const QuantSpec& spec, const int8_t* codes, const float* scales, int64_t N,
                     int64_t K)
    : kind_(kind), act_bits_(act_bits(spec.a)), N_(N), K_(K) {
  const bool per_row = weight_traits(spec.w).per_row;
  if (kind == IntEngineKind::kBitKernels && spec.w == WeightFormat::kBinary && spec.a == ActFormat::kBinary) {
    xnor_ = true;
    sign_ = pack_sign_matrix(codes, N, K, scales, per_row);
    return;
  }
  if (kind == IntEngineKind::kBitKernels) {
    bit_ = pack_bit_matrix(kernel_weights(spec.w), codes, N, K, scales, per_row);
    return;
  }
  const int64_t Kp = bit_padded_k(K);  // the activations arrive padded; zero weights there
  codes_.assign(static_cast<size_t>(N * Kp), 0);
  for (int64_t n = 0; n < N; ++n) std::memcpy(codes_.data() + n * Kp, codes + n * K, static_cast<size_t>(K));
  scales_.resize(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) scales_[static_cast<size_t>(n)] = scales[per_row ? n : 0];
}

void IntLinear::forward(const float* x, const float* b, float* y, int64_t M, BitActs& acts, float subln_eps) {
  if (xnor_) {
    if (subln_eps >= 0) throw Error::usage("the XNOR path does not fuse SubLN: normalise the input first");
    quantize_signs(x, M, K_, signs_);
    return xnor_gemm(signs_, sign_, b, y);
  }
  quantize_acts(x, M, K_, act_bits_, acts, subln_eps);  // [M, Kp] codes, per-row step and sum
  if (kind_ == IntEngineKind::kBitKernels) return bit_gemm(acts, bit_, b, y);
  auto it = onednn_.find(M);
  if (it == onednn_.end())
    it = onednn_.emplace(M, OnednnMatmul(OnednnMatmulType::kS8S8, codes_.data(), scales_.data(), M, N_, acts.Kp)).first;
  it->second.run(acts.q.data(), y);  // y = acc · w_scale[n]
  for (int64_t m = 0; m < M; ++m) {
    const float am = acts.mul[static_cast<size_t>(m)];
    float* yr = y + m * N_;
    for (int64_t n = 0; n < N_; ++n) yr[n] = yr[n] * am + (b ? b[n] : 0.0f);
  }
}

int64_t IntLinear::weight_bytes() const {
  if (xnor_) return sign_.bytes();
  if (kind_ == IntEngineKind::kBitKernels) return bit_.bytes();
  return static_cast<int64_t>(codes_.size() + scales_.size() * sizeof(float));
}

const char* IntLinear::kernel_path() const {
  if (kind_ == IntEngineKind::kOnednnInt8) return "onednn-s8s8";
  return xnor_ ? xnor_gemm_path() : bit_gemm_path();
}

std::string IntModel::kernel_paths() const {
  std::vector<std::string> seen;
  auto add = [&](const std::unique_ptr<IntLinear>& l) {
    if (l && std::find(seen.begin(), seen.end(), l->kernel_path()) == seen.end()) seen.push_back(l->kernel_path());
  };
  add(patch);
  for (const auto& b : blocks)
    for (const auto& l : b) add(l);
  add(head);
  add(head_dist);
  std::string s;
  for (const auto& p : seen) s += (s.empty() ? "" : "+") + p;
  return s;
}

int64_t IntModel::weight_bytes() const {
  int64_t s = 0;
  for (const auto& b : blocks)
    for (const auto& l : b)
      if (l) s += l->weight_bytes();
  for (const auto* l : {&patch, &head, &head_dist})
    if (*l) s += (*l)->weight_bytes();
  return s;
}

IntModel build_int_model(IntEngineKind kind, const ViTParams& p, const QuantPlan& plan,
                         const std::vector<PackedLayer>* packed) {
  const ViTConfig& c = p.cfg;
  IntModel m;
  m.kind = kind;
  std::vector<int8_t> codes;
  std::vector<float> scales;
  auto make = [&](const std::string& name, const QuantSpec& spec, const float* w, int64_t N,
                  int64_t K) -> std::unique_ptr<IntLinear> {
    if (!spec.quantized()) return nullptr;
    if (!int_engine_supports(spec))
      throw Error::usage(std::string(int_engine_name(kind)) + " cannot run " + name + " at " + spec.name() +
                         ": integer kernels need quantised weights and activations (use --backend onednn, the "
                         "fake-quant forward)");
    if (packed) {
      for (const PackedLayer& l : *packed)
        if (l.name == name) {
          if (l.N != N || l.K != K) throw Error::usage("packed layer " + name + " has the wrong shape");
          return std::make_unique<IntLinear>(kind, spec, l.codes.data(), l.scales.data(), N, K);
        }
      throw Error::usage("packed layer " + name + " is missing");
    }
    const WeightQuantTraits& wt = weight_traits(spec.w);
    codes.resize(static_cast<size_t>(N * K));
    scales.resize(static_cast<size_t>(N));
    wt.codes(w, N, K, codes.data(), scales.data());
    return std::make_unique<IntLinear>(kind, spec, codes.data(), scales.data(), N, K);
  };
  const int64_t D = c.embed_dim, Hm = c.mlp_hidden;
  m.blocks.resize(plan.blocks.size());
  for (size_t l = 0; l < plan.blocks.size(); ++l) {
    const BlockParams& b = p.blocks[l];
    const std::string pre = "blocks." + std::to_string(l) + ".";
    const float* w[4] = {b.qkv_w, b.proj_w, b.fc1_w, b.fc2_w};
    const int64_t NK[4][2] = {{3 * D, D}, {D, D}, {Hm, D}, {D, Hm}};
    for (int i = 0; i < 4; ++i)
      m.blocks[l][static_cast<size_t>(i)] =
          make(pre + kBlockLinearNames[i] + ".weight", plan.blocks[l][static_cast<size_t>(i)], w[i], NK[i][0], NK[i][1]);
  }
  m.patch = make("patch_embed.proj.weight", plan.patch_embed, p.patch_w, D, c.patch_dim());
  m.head = make("head.weight", plan.head, p.head_w, c.num_classes, D);
  if (c.distilled) m.head_dist = make("head_dist.weight", plan.head, p.head_dist_w, c.num_classes, D);
  return m;
}

}  // namespace bb
