#include "models/int_engine.hpp"

#include <algorithm>
#include <thread>
#include <cstring>

#include "core/error.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "kernels/parallel.hpp"

namespace bb {

// A pair of the kernel table runs on either engine (oneDNN's s8s8 takes every pair's codes).
bool int_engine_supports(const QuantSpec& s) { return find_gemm_pair(s.w, s.a) != nullptr; }

IntLinear::IntLinear(ModelBackend kind, const QuantSpec& spec, const int8_t* codes, const float* scales, int64_t N,
                     int64_t K, ActScale act_scale)
    : kind_(kind), act_format_(spec.a), act_scale_(act_scale), N_(N), K_(K) {
  const GemmPairTraits& pair = gemm_pair(spec.w, spec.a);
  const WeightFormatTraits& wt = weight_traits(spec.w);
  if (kind == ModelBackend::kBitKernels) {
    kernel_ = &pair.traits();
    kernel_->pack(wt, codes, N, K, scales, weights_);
    return;
  }
  const bool per_row = wt.per_row;
  const int64_t Kp = bit_padded_k(K);  // the activations arrive padded; zero weights there
  codes_.assign(static_cast<size_t>(N * Kp), 0);
  for (int64_t n = 0; n < N; ++n) std::memcpy(codes_.data() + n * Kp, codes + n * K, static_cast<size_t>(K));
  scales_.resize(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) scales_[static_cast<size_t>(n)] = scales[per_row ? n : 0];
}

void IntLinear::forward(const float* x, const float* b, float* y, int64_t M, BitActs& acts, float subln_eps,
                        double* quant_seconds) {
  {
    ScopedSeconds t(quant_seconds);
    quantize_acts(x, M, K_, act_format_, acts, subln_eps, act_scale_);  // [M, Kp] codes, per-row step and sum
  }
  forward_acts(acts, b, y);
}

void IntLinear::forward_acts(const BitActs& acts, const float* b, float* y) {
  if (acts.format != act_format_ || acts.K != K_)
    throw Error::usage("IntLinear: codes of " + std::string(act_traits(acts.format).name) + " [" +
                       std::to_string(acts.K) + "] for a layer of " + act_traits(act_format_).name + " [" +
                       std::to_string(K_) + "]");
  const int64_t M = acts.M;
  if (kernel_) return kernel_->gemm(acts, weights_, b, y);
  // Made and run at 1 thread where the work is too small for a parallel region.
  const int threads = threads_for_macs(M * N_ * acts.Kp);
  ThreadCountGuard at(threads);
  // Each thread runs its own primitive (a data-parallel worker of
  // RunnableModel::forward, or two callers): oneDNN wants a primitive run on
  // the thread that made it, and its memory objects are not shared.
  const std::tuple<int64_t, int, std::thread::id> key{M, threads, std::this_thread::get_id()};
  OnednnMatmul* mm = nullptr;
  {
    std::lock_guard<std::mutex> lock(onednn_mu_);  // std::map: other entries stay where they are
    auto it = onednn_.find(key);
    if (it == onednn_.end())
      it = onednn_.emplace(key, OnednnMatmul(OnednnMatmulType::kS8S8, codes_.data(), scales_.data(), M, N_, acts.Kp)).first;
    mm = &it->second;
  }
  mm->run(acts.q.data(), y);  // y = acc · w_scale[n]
  for (int64_t m = 0; m < M; ++m) {
    const float am = acts.mul[static_cast<size_t>(m)];
    float* yr = y + m * N_;
    for (int64_t n = 0; n < N_; ++n) yr[n] = yr[n] * am + (b ? b[n] : 0.0f);
  }
}

int64_t IntLinear::weight_bytes() const {
  if (kernel_) return kernel_->bytes(weights_);
  return static_cast<int64_t>(codes_.size() + scales_.size() * sizeof(float));
}

const char* IntLinear::kernel_path() const {
  if (kind_ == ModelBackend::kOnednnInt8) return "onednn-s8s8";
  return kernel_->path();
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

std::unique_ptr<IntLinear>& IntModel::at(const PlannedLinear& l) {
  switch (l.site) {
    case LinearSite::kPatch: return patch;
    case LinearSite::kHead: return head;
    case LinearSite::kHeadDist: return head_dist;
    default: return blocks.at(static_cast<size_t>(l.block))[static_cast<size_t>(l.slot)];
  }
}

IntModel build_int_model(ModelBackend kind, const ViTParams& p, const QuantPlan& plan,
                         const std::vector<PackedLayer>* packed) {
  if (!model_backend_row(kind).integer)
    throw Error::usage(std::string(model_backend_name(kind)) + " is not an integer engine (bitkernels, onednn-int8)");
  IntModel m;
  m.kind = kind;
  m.blocks.resize(plan.blocks.size());
  std::vector<int8_t> codes;
  std::vector<float> scales;
  for (const PlannedLinear& l : plan_linears(p.cfg, plan)) {
    if (!l.spec.quantized()) continue;
    if (!int_engine_supports(l.spec))
      throw Error::usage(std::string(model_backend_name(kind)) + " cannot run " + l.name + " at " + l.spec.name() +
                         ": integer kernels need quantised weights and activations (use --backend onednn, the "
                         "fake-quant forward)");
    std::unique_ptr<IntLinear> layer;
    if (packed) {
      auto it = std::find_if(packed->begin(), packed->end(), [&](const PackedLayer& pl) { return pl.name == l.name; });
      if (it == packed->end()) throw Error::usage("packed layer " + l.name + " is missing");
      if (it->N != l.N || it->K != l.K) throw Error::usage("packed layer " + l.name + " has the wrong shape");
      layer = std::make_unique<IntLinear>(kind, l.spec, it->codes.data(), it->scales.data(), l.N, l.K,
                                          plan.act_scale);
    } else {  // the latent weights through the same quantiser as the fake-quant forward
      codes.resize(static_cast<size_t>(l.N * l.K));
      scales.resize(static_cast<size_t>(l.N));
      weight_traits(l.spec.w).codes(p.data(*p.find(l.name)), l.N, l.K, codes.data(), scales.data());
      layer = std::make_unique<IntLinear>(kind, l.spec, codes.data(), scales.data(), l.N, l.K, plan.act_scale);
    }
    m.at(l) = std::move(layer);
  }
  return m;
}

}  // namespace bb
