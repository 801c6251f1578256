#pragma once
// The ViT runner of every model, forward and backward: the fp32 teacher, and a
// BitNet student under its quant plan (fake-quant Linears, or an integer
// engine's in inference). Patch embedding as a GEMM over patches, class/dist
// tokens, position embedding, pre-norm blocks (LN → MHSA with fused qkv →
// proj, residual; LN → fc1 → GELU → fc2, residual), final norm, pooling,
// head. Activations live in one arena sized once per batch size: in inference
// mode every block reuses the same buffers; in training mode each block keeps
// its own, as backward needs them.
#include <optional>
#include <vector>

#include "core/tensor.hpp"
#include "kernels/attention_quant.hpp"
#include "kernels/backend.hpp"
#include "models/int_engine.hpp"
#include "models/quant.hpp"
#include "models/vit_params.hpp"

namespace bb {

// Where forward() spends its time, seconds summed over the calls made while
// it is attached (ViTRunner::profile). linear: every Linear (patch embedding,
// the blocks', the head) with its SubLN-free activation quantiser; norm: the
// LayerNorms, SubLN included; attention: q·kᵀ, softmax, ·v; other: the rest
// (patchify, tokens, residual adds, pooling) = total − the named parts.
// Parts of parts: requant ⊂ linear, the integer engine's activation quantiser
// (SubLN fused into it included); softmax ⊂ attention, the integer softmax of
// an integer-only student's inference attention (its tasks' seconds over the
// threads that ran them).
struct ForwardProfile {
  double total = 0, linear = 0, norm = 0, attention = 0, gelu = 0;
  double requant = 0, softmax = 0;
  int64_t calls = 0;
  double other() const { return total - linear - norm - attention - gelu; }
};

class ViTRunner {
 public:
  // With a quant plan, every Linear it names is a BitLinear: (SubLN) →
  // activation fake-quant → weight fake-quant → matmul (see quant.hpp).
  // With an integer engine (inference only) those Linears run on its integer
  // kernels instead (int_engine.hpp); everything else stays on the backend.
  ViTRunner(const ViTParams& params, Backend& backend, bool training = false, const QuantPlan* plan = nullptr,
            IntModel* engine = nullptr);

  // images [B, C, S, S] → logits [B, classes]; the view lives in the arena
  // until the next call. DeiT distilled: mean of head and head_dist.
  TensorView forward(const TensorView& images);
  // After forward() of a distilled model: each head's logits [B, classes].
  TensorView logits_cls() const;
  TensorView logits_dist() const;
  // After forward(): the residual stream after block l, [B, T, D].
  const float* block_output(int l) const;

  // Training mode, after forward(): adds the gradient of every parameter into
  // grads (flat, the params' layout; the caller zeroes it). dlogits [B,
  // classes] is the gradient of the returned logits; for a distilled model
  // with dlogits_dist given, dlogits belongs to the class-token head and
  // dlogits_dist to head_dist instead. dblock (optional, depth entries, each
  // null or [B, T, D]) adds gradient at each block's output (hidden-state losses);
  // dattn (optional, depth entries, each null or [B, H, T, T]) adds gradient at
  // each block's attention probabilities (attention-map losses).
  void backward(const float* dlogits, float* grads, const float* dlogits_dist = nullptr,
                const std::vector<const float*>* dblock = nullptr,
                const std::vector<const float*>* dattn = nullptr);

  // When set, forward() copies activations into taps: [0] tokens after
  // embedding, [1..depth] after each block, [depth+1] after the final norm
  // (token pooling) — each [B, T, D]. For tests against reference vectors.
  void capture(std::vector<Tensor>* taps) { taps_ = taps; }
  bool capturing() const { return taps_ || attn_taps_; }
  // When set, forward() also copies each block's attention probabilities
  // (the softmax, before any quantiser) into attn_taps[l], [B, H, T, T].
  void capture_attention(std::vector<Tensor>* attn_taps) { attn_taps_ = attn_taps; }
  // Training, after forward(): block l's attention probabilities [B, H, T, T].
  const float* block_probs(int l) const;
  // Inference: forward() runs batches larger than `images` in chunks of that
  // many images (0, the default: whole batches; capture and capture_attention
  // also turn chunking off). The logits are the same
  // floats — every layer works per token or per image — and a chunk's
  // activations stay in cache; block_output() is then unavailable.
  void set_inference_chunk(int64_t images) { infer_chunk_ = images; }
  // When set, forward() adds its per-part times to *p (null detaches).
  void profile(ForwardProfile* p) { prof_ = p; }
  int64_t arena_floats() const { return arena_.numel(); }
  const ViTConfig& config() const { return p_.cfg; }
  Backend& backend() { return be_; }

 private:
  // One block's saved activations ([B, T, ...] with BT = B·T rows).
  struct BlockActs {
    float* x_in;              // [BT, D]  block input (residual stream)
    float *ln1, *mean1, *rstd1;  // [BT, D], [BT], [BT]
    float* qkv;               // [BT, 3D]
    float* qkv_hat;           // [BT, 3D] quantised attention, training: q̂, k̂, v̂ as its matmuls saw them
    float* probs;             // [B, H, T, T] softmax
    float* att;               // [BT, D]  heads concatenated
    float* x_mid;             // [BT, D]  after the attention residual
    float *ln2, *mean2, *rstd2;  // [BT, D], [BT], [BT]
    float* fc1;               // [BT, Hm] pre-activation
    float* gelu;              // [BT, Hm] (aliases fc1 in inference)
  };
  // A BitLinear's state: its spec, fake-quant weights (per forward), and the
  // quantised input saved for backward ([M, K] in the arena).
  struct QLinear {
    QuantSpec spec;
    std::vector<int8_t> codes;        // [N, K] scratch
    std::vector<float> wq, scales;    // [N, K], [N]
    float* xq = nullptr;              // [M, K]
    float *sub_mean = nullptr, *sub_rstd = nullptr;  // [M] (SubLN)
    IntLinear* engine = nullptr;      // set: runs on the integer engine
    // Low-bit extras (ViTConfig rsign / bireal / rprelu; params, null when off):
    const float* shift = nullptr;                                         // [K] RSign
    const float *rp_in = nullptr, *rp_slope = nullptr, *rp_out = nullptr;  // [N] RPReLU γ, β, ζ
    bool bireal = false;
    float* rp_z = nullptr;  // [M, N] training: RPReLU's input less γ
  };
  TensorView forward_batch(const TensorView& images);
  void reserve(int64_t B);
  void setup_quant();
  QLinear& qlinear_at(const PlannedLinear& l);
  // y[M, N] = x · W^T + b through layer q (plain backend linear when fp32).
  void qlinear(QLinear& q, const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K);
  void qlinear_backward(QLinear& q, const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                        int64_t M, int64_t N, int64_t K);
  // ln = LayerNorm(x; nw, nb) [M, K], then y = qlinear(q, ln): the float
  // LayerNorm and q's own quantiser, or, where int_ln_at(q), the integer
  // LayerNorm's codes (kernels/int_layernorm.hpp) straight into q's GEMM
  // (training also keeps the float statistics its backward uses).
  void norm_qlinear(QLinear& q, const float* x, const float* nw, const float* nb, float* ln, float* mean, float* rstd,
                    const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K);
  bool int_ln_at(const QLinear& q) const;
  const ViTParams& p_;
  Backend& be_;
  bool training_;
  QuantPlan plan_;                              // empty blocks when fp32
  AttnQuant attn_q_;                            // the plan's attention formats (fp32: the backend's attention)
  IntModel* engine_;                            // null: fake-quant forward
  BitActs int_acts_;                            // the engine's quantised input (scratch)
  std::vector<std::array<QLinear, 4>> qblocks_;  // per block: qkv, proj, fc1, fc2
  QLinear qpatch_, qhead_, qhead_dist_;
  std::vector<float> ones_, zeros_;             // SubLN: unit weight, zero bias
  float* sub_ = nullptr;                        // [BT, max K] SubLN output (scratch)
  float* dsub_ = nullptr;                       // [BT, max K] gradient at the quantiser (scratch)
  float* shifted_ = nullptr;                    // [BT, max K] RSign: the quantiser's shifted input (scratch)
  float* drp_ = nullptr;                        // [BT, max N] RPReLU: gradient at its input (scratch)
  float* grads_ = nullptr;                      // backward(): the gradient buffer being filled
  std::vector<int8_t> gelu_codes_;              // integer plan: GELU's output codes [BT, Hm]
  std::vector<float> gelu_step_;                // [BT]
  std::vector<int32_t> gelu_sum_;               // [BT]
  int64_t batch_ = 0;
  Tensor arena_;
  float* patches_ = nullptr;  // [B, Np, C*P*P]
  float* pemb_ = nullptr;     // [B, Np, D]
  std::vector<BlockActs> acts_;
  float* x_out_ = nullptr;    // [BT, D]  after the last block
  float *lnf_ = nullptr, *meanf_ = nullptr, *rstdf_ = nullptr;  // [BT, D] (avg pool: [B, D]), [BT], [BT]
  float* pool_in_ = nullptr;  // [B, D] avg pool: mean of patch tokens before fc_norm
  float* pooled_ = nullptr;   // [2, B, D]  (second half: dist token)
  float* logits_ = nullptr;   // [3, B, K]: class head, dist head, their mean
  float* tmp_ = nullptr;      // [BT, D]  proj / fc2 output
  // Backward scratch (training only).
  float *dx_ = nullptr, *dln_ = nullptr, *dqkv_ = nullptr, *dprobs_ = nullptr, *datt_ = nullptr, *dhid_ = nullptr;
  float *dpemb_ = nullptr, *dpooled_ = nullptr;
  std::vector<Tensor>* taps_ = nullptr;
  std::vector<Tensor>* attn_taps_ = nullptr;
  ForwardProfile* prof_ = nullptr;
  int64_t infer_chunk_ = 0;          // images per inference chunk (0: whole batches)
  bool chunked_ = false;             // the last forward ran in chunks
  int64_t chunked_batch_ = 0;
  std::vector<float> all_logits_;    // [3, B, K] of a chunked forward
};

}  // namespace bb
