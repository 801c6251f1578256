// fp32 ViT forward: latency at batch 1 and throughput at batch 64, reference vs
// oneDNN, for deit_tiny_patch16_224 shapes and the small Fashion-MNIST preset,
// with 1 and 2 threads. Reports images/s and the GFLOP/s reached (matrix FLOPs:
// 2·M·N·K for every linear and both attention products).
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "core/rng.hpp"
#include "core/threads.hpp"
#include "kernels/backend.hpp"
#include "models/vit.hpp"

namespace {

using namespace bb;

double forward_flops(const ViTConfig& c, int64_t B) {
  const double T = c.tokens(), D = c.embed_dim, Np = c.num_patches(), Hm = c.mlp_hidden;
  double per_block = 2 * T * D * 3 * D + 2 * T * T * D * 2 + 2 * T * D * D + 2 * 2 * T * D * Hm;
  double f = 2 * Np * c.patch_dim() * D + c.depth * per_block + 2 * D * c.num_classes;
  return f * static_cast<double>(B);
}

void BM_VitForward(benchmark::State& state, const char* preset, const char* backend) {
  const int64_t B = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  set_num_threads(threads);
  ViTConfig c = vit_preset(preset);
  ViTParams p(c);
  p.init_random(1);
  auto be = make_backend(backend);
  ViTRunner run(p, *be);
  Tensor x(Shape{B, c.in_chans, c.img_size, c.img_size});
  Rng r(2);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  run.forward(x.view());  // warm-up: primitives and arena created here
  for (auto _ : state) benchmark::DoNotOptimize(run.forward(x.view()).data());
  const double iters = static_cast<double>(state.iterations());
  state.counters["images/s"] = benchmark::Counter(iters * static_cast<double>(B), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(iters * forward_flops(c, B) / 1e9, benchmark::Counter::kIsRate);
  set_num_threads(0);
}

void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "threads"})->Args({1, 1})->Args({1, 2})->Args({64, 1})->Args({64, 2});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_VitForward, deit_tiny_onednn, "deit_tiny_patch16_224", "onednn")->Apply(args);
BENCHMARK_CAPTURE(BM_VitForward, deit_tiny_reference, "deit_tiny_patch16_224", "reference")
    ->ArgNames({"batch", "threads"})->Args({1, 1})->Args({1, 2})->Args({64, 2})->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_VitForward, fmnist_tiny_onednn, "vit_fmnist_tiny_patch4_28", "onednn")->Apply(args);
BENCHMARK_CAPTURE(BM_VitForward, fmnist_tiny_reference, "vit_fmnist_tiny_patch4_28", "reference")->Apply(args);

// Attention alone, forward + backward: the per-head fused kernel against the
// batched oneDNN matmuls (fused disabled), at the two shapes bitbench trains
// and runs most: the Fashion-MNIST teacher (T 50, 4 heads of 16) and DeiT-Tiny
// (T 197, 3 heads of 64), with the CIFAR-10 teacher (T 65, 4 heads of 32) between. Decides kFusedAttentionMaxTokens.
void BM_Attention(benchmark::State& state, bool fused) {
  const int64_t B = state.range(0), T = state.range(1), H = state.range(2), Dh = state.range(3);
  auto be = make_onednn_backend(fused ? kFusedAttentionMaxTokens : 0);
  Rng r(3);
  std::vector<float> qkv(static_cast<size_t>(B * T * 3 * H * Dh)), dqkv(qkv.size());
  std::vector<float> out(static_cast<size_t>(B * T * H * Dh)), dout(out.size());
  std::vector<float> probs(static_cast<size_t>(B * H * T * T)), scratch(probs.size());
  for (auto& v : qkv) v = static_cast<float>(r.normal());
  for (auto& v : dout) v = static_cast<float>(r.normal());
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  for (auto _ : state) {
    be->attention(qkv.data(), probs.data(), out.data(), B, T, H, Dh, scale);
    be->attention_backward(qkv.data(), probs.data(), dout.data(), dqkv.data(), scratch.data(), B, T, H, Dh, scale);
  }
  const double flops = 3.0 * 2 * 2 * static_cast<double>(B * H * T * T * Dh);  // 2 products forward, 4 backward
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
}
void attention_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "T", "heads", "dh"})->Args({128, 50, 4, 16})->Args({128, 65, 4, 32})->Args({16, 197, 3, 64});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK_CAPTURE(BM_Attention, fused, true)->Apply(attention_shapes);
BENCHMARK_CAPTURE(BM_Attention, onednn_batched, false)->Apply(attention_shapes);

}  // namespace

BENCHMARK_MAIN();
