#pragma once
// Opening a model to run it, written once: checkpoint → config → quant plan →
// (integer engine) → backend → runner. `validate`, `predict`, `bitbench run`,
// the zoo check and bench_vit all come through here. The backends are the
// table of kernels/model_backend.hpp.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/model_backend.hpp"
#include "models/int_engine.hpp"
#include "models/packed.hpp"
#include "models/vit.hpp"

namespace bb {

struct OpenOptions {
  std::optional<GivenConfig> config;  // as load_model: used where the file states none, refused where it contradicts the file
  std::optional<QuantPlan> plan;    // run the model under this plan instead of its own (e.g. W8A8 PTQ of a teacher)
};

// A model ready to run. Not movable: the runner holds references into it.
class RunnableModel {
 public:
  RunnableModel(LoadedModel model, ModelBackend backend, const std::string& source, std::optional<QuantPlan> plan);
  RunnableModel(const RunnableModel&) = delete;
  RunnableModel& operator=(const RunnableModel&) = delete;

  // images [B, C, S, S] → logits [B, classes] (a view into the runner's arena,
  // or this model's own buffer). Where data_parallel_parts(B) ≥ 2, the images
  // are split into that many contiguous parts, each run through the whole
  // network by one thread on its own runner and backend (one parallel region
  // per forward instead of one per operation); each image's logits are those
  // the one-runner forward gives it, as in the chunked forward.
  TensorView forward(const TensorView& images);
  // 1, or the parts a batch of B images is split into: the thread count (at
  // most B) where the work pays.
  int data_parallel_parts(int64_t B) const;
  // The first part's runner (it runs whole batches that are not split).
  ViTRunner& runner() { return *runner_; }
  // Activation floats held by every runner (the workers' arenas included).
  int64_t arena_floats() const;
  const LoadedModel& model() const { return model_; }
  const ViTConfig& config() const { return model_.params.cfg; }
  const QuantPlan* plan() const { return plan_ ? &*plan_ : nullptr; }
  ModelBackend backend() const { return backend_; }
  const IntModel* engine() const { return engine_ ? &*engine_ : nullptr; }
  std::string precision() const { return plan_ ? plan_->label() : "FP32"; }
  // The kernels its matrix work runs on: "onednn-f32", "reference", "onednn-s8s8", or the bit kernels' ISA paths.
  std::string kernel_path() const;
  // Bytes of the weights as this backend holds them: the engine's buffers
  // plus every fp32 tensor it runs from the parameters.
  int64_t weight_bytes_in_memory() const;

 private:
  LoadedModel model_;
  ModelBackend backend_;
  std::optional<QuantPlan> plan_;
  std::optional<IntModel> engine_;
  std::unique_ptr<Backend> matrix_;
  std::unique_ptr<ViTRunner> runner_;
  struct Worker {  // data-parallel part p ≥ 1: its own backend and runner
    std::unique_ptr<Backend> matrix;
    std::unique_ptr<ViTRunner> runner;
  };
  std::vector<Worker> workers_;
  std::vector<float> logits_;  // [B, classes] of a split forward
};

// Loads `path` (teacher, latent student or packed student) and builds what
// `backend` needs. Error(Usage) when an integer backend is asked to run an
// fp32 model without a plan.
std::unique_ptr<RunnableModel> open_model(const std::string& path, ModelBackend backend, const OpenOptions& o = {});
// The same from parameters already in memory (benchmarks); plan null = fp32.
std::unique_ptr<RunnableModel> open_model(ViTParams params, const QuantPlan* plan, ModelBackend backend);

}  // namespace bb
