#include "models/runnable_model.hpp"

#include "core/error.hpp"

#include <algorithm>

namespace bb {
namespace {

// Inference runs batches in chunks of about this many tokens (whole images):
// a chunk's activations stay in the core's L2 instead of going to memory.
// Chosen by a sweep of bench_vit's BM_StudentForward at batch 64 (256 to 2048
// tokens against whole batches; the commit that added chunking read the size
// from BITBENCH_TUNE_CHUNK_ROWS for it): 256–1024 measured alike, 512 between.
constexpr int64_t kInferenceChunkRows = 512;

}  // namespace

RunnableModel::RunnableModel(LoadedModel model, ModelBackend backend, const std::string& source,
                             std::optional<QuantPlan> plan)
    : model_(std::move(model)), backend_(backend), plan_(plan ? std::move(plan) : model_.plan) {
  const ModelBackendRow& r = model_backend_row(backend);
  if (r.integer) {
    if (!plan_)
      throw Error::usage(std::string("--backend ") + r.name + " runs BitNet students; " + source +
                         " is an fp32 model (use --backend onednn)");
    // A packed file's codes run as stored unless another plan was asked for.
    const bool own_codes = !plan && !model_.packed_layers.empty();
    engine_ = build_int_model(backend, model_.params, *plan_, own_codes ? &model_.packed_layers : nullptr);
    // The engine now holds those weights in its kernel layout: no fp32 or int8 copies stay alive.
    std::vector<std::string> held;
    for (const PlannedLinear& l : plan_linears(model_.params.cfg, *plan_))
      if (engine_->at(l)) held.push_back(l.name);
    model_.params.release_tensors(held);
    model_.packed_layers.clear();
    model_.packed_layers.shrink_to_fit();
  }
  matrix_ = make_backend(backend);
  runner_ = std::make_unique<ViTRunner>(model_.params, *matrix_, false, plan_ ? &*plan_ : nullptr,
                                        engine_ ? &*engine_ : nullptr);
  runner_->set_inference_chunk(std::max<int64_t>(1, kInferenceChunkRows / model_.params.cfg.tokens()));
}

std::string RunnableModel::kernel_path() const {
  switch (backend_) {
    case ModelBackend::kBitKernels: return engine_->kernel_paths();
    case ModelBackend::kOnednnInt8: return "onednn-s8s8";
    case ModelBackend::kReference: return "reference";
    default: return "onednn-f32";
  }
}

int64_t RunnableModel::weight_bytes_in_memory() const {
  // The buffers held: the engine's packed layers and the fp32 tensors left.
  return (engine_ ? engine_->weight_bytes() : 0) + model_.params.resident() * 4;
}

std::unique_ptr<RunnableModel> open_model(const std::string& path, ModelBackend backend, const OpenOptions& o) {
  return std::make_unique<RunnableModel>(load_model(path, o.config), backend, path, o.plan);
}

std::unique_ptr<RunnableModel> open_model(ViTParams params, const QuantPlan* plan, ModelBackend backend) {
  LoadedModel m{std::move(params), plan ? std::optional<QuantPlan>(*plan) : std::nullopt, {}, "argument", {}};
  return std::make_unique<RunnableModel>(std::move(m), backend, "the model", std::nullopt);
}

}  // namespace bb
