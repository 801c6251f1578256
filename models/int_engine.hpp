#pragma once
// The student inference engine: every quantised Linear of a student runs on
// integer kernels, its weight codes packed once at load, its input quantised
// per token on the fly (the same codes as the fake-quant forward), its output
// scaled once after integer accumulation. Two engines:
//   bitkernels   — bitbench's integer GEMMs, the one kernels/gemm_pairs.hpp
//                  names for the layer's (weight, activation) pair
//   onednn-int8  — oneDNN's s8s8 matmul on the same codes (the independent peer)
// Everything else (patch embedding and head unless quantised, attention,
// LayerNorm, GELU) stays fp32 on the runner's backend.
#include <array>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include "kernels/gemm_pairs.hpp"
#include "kernels/model_backend.hpp"
#include "kernels/onednn_matmul.hpp"
#include "models/packed.hpp"
#include "models/quant.hpp"
#include "models/vit_params.hpp"

namespace bb {


// Whether a layer's spec runs on integer kernels (quantised weights and activations).
bool int_engine_supports(const QuantSpec& s);

class IntLinear {
 public:
  // codes [N, K] of spec.w's format; scales [N] (per row) or [1]; act_scale:
  // the plan's rule for the activation steps.
  IntLinear(ModelBackend kind, const QuantSpec& spec, const int8_t* codes, const float* scales, int64_t N, int64_t K,
            ActScale act_scale = ActScale::kAbsMax);
  // y[M, N] = x[M, K] · W^T + b (b may be null); acts is scratch. subln_eps ≥ 0:
  // x is first normalised by SubLN (LayerNorm without affine, that eps), fused
  // into the activation quantiser.
  // quant_seconds (or null): the time quantising x is added there.
  void forward(const float* x, const float* b, float* y, int64_t M, BitActs& acts, float subln_eps = -1,
               double* quant_seconds = nullptr);
  // The same on codes already made (acts [M, Kp] at the layer's activation
  // format, e.g. by the integer LayerNorm).
  void forward_acts(const BitActs& acts, const float* b, float* y);
  int64_t weight_bytes() const;  // packed codes + scales as the kernels hold them
  const char* kernel_path() const;  // the kernel and ISA path this layer runs on now

 private:
  ModelBackend kind_;
  ActFormat act_format_;
  ActScale act_scale_;
  int64_t N_, K_;
  const GemmKernelTraits* kernel_ = nullptr;  // bitkernels: the kernel of the layer's pair
  GemmWeights weights_;                     // bitkernels: packed for it
  std::vector<int8_t> codes_;               // onednn-int8: [N, Kp] s8, zero padded
  std::vector<float> scales_;               // onednn-int8: [N]
  // onednn-int8: one primitive per row count, thread count (oneDNN fixes a
  // primitive's threads when it creates it) and calling thread (each holds
  // its own reordered copy of the codes)
  std::map<std::tuple<int64_t, int, std::thread::id>, OnednnMatmul> onednn_;
  std::mutex onednn_mu_;
};

struct IntModel {
  ModelBackend kind = ModelBackend::kBitKernels;  // kBitKernels or kOnednnInt8
  std::vector<std::array<std::unique_ptr<IntLinear>, 4>> blocks;  // null where a Linear stays fp32
  std::unique_ptr<IntLinear> patch, head, head_dist;
  // The layer at a planned Linear's place (null where it stays fp32).
  std::unique_ptr<IntLinear>& at(const PlannedLinear& l);
  const IntLinear* at(const PlannedLinear& l) const { return const_cast<IntModel*>(this)->at(l).get(); }
  int64_t weight_bytes() const;
  // The distinct kernel paths its layers run on, in layer order, joined by "+"
  // (e.g. "avx512-vnni"; a W1A1 model "avx512-vpopcntdq").
  std::string kernel_paths() const;
};

// From a student's latent weights (quantised here, as the fake-quant forward
// does) or, with packed layers given, from a packed file's codes, on the
// engine of an integer backend (its table row's `integer`). Error(Usage)
// when a quantised layer cannot run on integer kernels (e.g. W1.58A32).
IntModel build_int_model(ModelBackend kind, const ViTParams& p, const QuantPlan& plan,
                         const std::vector<PackedLayer>* packed = nullptr);

}  // namespace bb
