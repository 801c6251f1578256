// Teacher training throughput: one full step (forward, cross-entropy, backward,
// clip, AdamW) of the Fashion-MNIST teacher config's model at batch 128, with 1
// and 2 threads, on a fixed batch (data loading is measured by bench_datasets).
// Counters split the step into forward, backward and optimizer milliseconds.
// The same for BitNet students (BitLinear fake-quant, straight-through
// backward, soft distillation from a teacher whose forward runs in the step).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "core/rng.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "eval/run_config.hpp"
#include "kernels/backend.hpp"
#include "models/layers.hpp"
#include "models/vit.hpp"
#include "train/adamw.hpp"
#include "train/objective.hpp"

namespace {

using namespace bb;

void BM_TrainStep(benchmark::State& state, ViTConfig c, const char* spec = nullptr, bool act_ste_clip = false) {
  const int64_t B = state.range(0);
  set_num_threads(static_cast<int>(state.range(1)));
  TrainConfig tc;
  ViTParams p(c);
  p.init_random(0);
  auto be = make_backend(ModelBackend::kOnednn);
  // A student: BitLinear blocks at `spec`, distilled from a teacher of the same shape (its forward is part of the step).
  std::optional<QuantPlan> plan;
  if (spec) plan = QuantPlan::uniform(c.depth, parse_quant_spec(spec));
  if (plan) plan->act_ste_clip = act_ste_clip;
  ViTRunner model(p, *be, true, plan ? &*plan : nullptr);
  ViTParams teacher(c);
  teacher.init_random(1);
  std::unique_ptr<Objective> objective;
  if (spec) objective = std::make_unique<DistillObjective>(teacher, nullptr, DistillConfig{}, 0.0f);
  else objective = std::make_unique<CrossEntropyObjective>(0.1f);
  StepGrads g;
  Batch batch;
  AdamW opt(p.count(), weight_decay_mask(p));
  Tensor x(Shape{B, c.in_chans, c.img_size, c.img_size});
  Rng r(1);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  std::vector<int> labels(static_cast<size_t>(B));
  for (auto& l : labels) l = static_cast<int>(r.below(static_cast<uint64_t>(c.num_classes)));
  batch.images = x.view();
  batch.labels = labels;
  std::vector<float> grads(static_cast<size_t>(p.count()));
  // Warm-up: oneDNN primitives and the activation arena are created on the first step.
  {
    TensorView logits = model.forward(x.view());
    objective->step(batch, model, logits, g);
    model.backward(g.dlogits.data(), grads.data());
  }
  double fwd = 0, bwd = 0, upd = 0;
  for (auto _ : state) {
    Timer t;
    TensorView logits = model.forward(x.view());
    objective->step(batch, model, logits, g);  // loss (and the teacher's forward for students)
    fwd += t.seconds();
    t.reset();
    std::fill(grads.begin(), grads.end(), 0.0f);
    model.backward(g.dlogits.data(), grads.data());
    bwd += t.seconds();
    t.reset();
    clip_grad_norm(grads.data(), p.count(), 1.0);
    opt.step(p.flat.data(), grads.data(), 1e-3, tc);
    upd += t.seconds();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["images/s"] = benchmark::Counter(n * static_cast<double>(B), benchmark::Counter::kIsRate);
  state.counters["fwd_ms"] = 1e3 * fwd / n;
  state.counters["bwd_ms"] = 1e3 * bwd / n;
  state.counters["opt_ms"] = 1e3 * upd / n;
  set_num_threads(0);
}

ViTConfig teacher() {
  return load_run_config(std::string(BITBENCH_SOURCE_DIR) + "/configs/fashion_mnist_teacher.json").model;
}
ViTConfig with_patch(int patch) {
  ViTConfig c = teacher();
  c.patch_size = patch;
  return c;
}

BENCHMARK_CAPTURE(BM_TrainStep, fmnist_teacher, teacher())
    ->ArgNames({"batch", "threads"})->Args({128, 1})->Args({128, 2})->UseRealTime()->Unit(benchmark::kMillisecond);
// The PyTorch comparison point: dim 64, depth 4, 4 heads, MLP 128 at patch 7 and 4, 2 threads.
BENCHMARK_CAPTURE(BM_TrainStep, dim64_patch7, [] {
  ViTConfig c = with_patch(7);
  c.embed_dim = 64; c.depth = 4; c.num_heads = 4; c.mlp_hidden = 128;
  return c;
}())->ArgNames({"batch", "threads"})->Args({128, 2})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainStep, dim64_patch4, [] {
  ViTConfig c = with_patch(4);
  c.embed_dim = 64; c.depth = 4; c.num_heads = 4; c.mlp_hidden = 128;
  return c;
}())->ArgNames({"batch", "threads"})->Args({128, 2})->UseRealTime()->Unit(benchmark::kMillisecond);

// Students of the teacher config's model: W1.58A8 and W1A8 BitLinear blocks,
// soft distillation (the teacher's forward counted in fwd_ms).
BENCHMARK_CAPTURE(BM_TrainStep, fmnist_student_w1_58a8, teacher(), "W1.58A8")
    ->ArgNames({"batch", "threads"})->Args({128, 2})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainStep, fmnist_student_w1a8, teacher(), "W1A8")
    ->ArgNames({"batch", "threads"})->Args({128, 2})->UseRealTime()->Unit(benchmark::kMillisecond);
// W1A1 with the identity and the clipped activation STE (quant.act_ste): what the clip's mask costs a step.
BENCHMARK_CAPTURE(BM_TrainStep, fmnist_student_w1a1, teacher(), "W1A1")
    ->ArgNames({"batch", "threads"})->Args({128, 2})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainStep, fmnist_student_w1a1_act_ste_clipped, teacher(), "W1A1", true)
    ->ArgNames({"batch", "threads"})->Args({128, 2})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
