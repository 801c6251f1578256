#include "models/runnable_model.hpp"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <mutex>

#include "core/error.hpp"
#include "core/threads.hpp"
#include "kernels/parallel.hpp"

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

int RunnableModel::data_parallel_parts(int64_t B) const {
  const int threads = num_threads();
  // Captures (hidden states, attention maps) need the whole batch on one runner.
  if (threads < 2 || B < 2 || runner_->capturing()) return 1;
  // Worth a region: the forward's multiply-adds (Linears and attention), per image.
  const ViTConfig& c = model_.params.cfg;
  const int64_t T = c.tokens(), D = c.embed_dim;
  const int64_t per_image = c.depth * (T * (4 * D * D + 2 * D * c.mlp_hidden) + 2 * T * T * D);
  if (!parallel_pays_macs(B * per_image)) return 1;
  return static_cast<int>(std::min<int64_t>(threads, B));
}

TensorView RunnableModel::forward(const TensorView& images) {
  const int64_t B = images.shape().rank() == 4 ? images.dim(0) : 0;
  const int parts = data_parallel_parts(B);
  if (parts < 2) return runner_->forward(images);
  while (static_cast<int>(workers_.size()) < parts - 1) {  // part 0 runs on runner_
    Worker w;
    w.matrix = make_backend(backend_);
    w.runner = std::make_unique<ViTRunner>(model_.params, *w.matrix, false, plan_ ? &*plan_ : nullptr,
                                           engine_ ? &*engine_ : nullptr);
    w.runner->set_inference_chunk(std::max<int64_t>(1, kInferenceChunkRows / model_.params.cfg.tokens()));
    workers_.push_back(std::move(w));
  }
  const int64_t K = model_.params.cfg.num_classes, per = images.numel() / B;
  logits_.resize(static_cast<size_t>(B * K));
  std::exception_ptr failed;
  std::mutex mu;
#pragma omp parallel num_threads(parts)
  {
    // Every part runs even where OpenMP grants fewer threads than asked (OMP_DYNAMIC, a thread limit).
    for (int p = omp_get_thread_num(); p < parts; p += omp_get_num_threads()) {
      const int64_t b0 = B * p / parts, b1 = B * (p + 1) / parts;
      try {
        WorkerThreadCount one(1);  // the part's kernels open no regions of their own
        ViTRunner& r = p == 0 ? *runner_ : *workers_[static_cast<size_t>(p - 1)].runner;
        const TensorView part(const_cast<float*>(images.data()) + b0 * per,
                              Shape{b1 - b0, images.dim(1), images.dim(2), images.dim(3)});
        const TensorView out = r.forward(part);
        std::copy(out.data(), out.data() + (b1 - b0) * K, logits_.data() + b0 * K);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed) failed = std::current_exception();
      }
    }
  }
  if (failed) std::rethrow_exception(failed);
  return TensorView(logits_.data(), Shape{B, K});
}

int64_t RunnableModel::arena_floats() const {
  int64_t n = runner_->arena_floats();
  for (const Worker& w : workers_) n += w.runner->arena_floats();
  return n;
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
