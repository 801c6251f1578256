// The bit GEMMs beside oneDNN on the shapes of real ViTs. Every bit-kernel
// benchmark times oneDNN fp32 and oneDNN int8 (u8s8, weights reordered once,
// per-column output scales) and itself on the same shape and thread count in
// this process, interleaved by the meter (measure/meter.hpp, the one `bitbench
// run` uses), and reports GOP/s (2·M·N·K per call) and the ratios x_fp32 /
// x_int8 (oneDNN time / bit-kernel time, median over rounds; above 1 = faster), on
// already-quantised activations; BM_BitGemm and BM_XnorGemm also give
// x_fp32_with_quant / x_int8_with_quant with the activation quantiser inside
// the timed region (oneDNN fp32 takes floats: that is its like-for-like ratio).
// The activation quantiser (absmax + round + pack, one pass) is timed apart
// (BM_QuantizeActs): bit_gemm takes already quantised activations, as oneDNN
// int8 takes u8 ones.
//   M: 1, 16, 197, 16·197 tokens; (K, N): DeiT-Tiny qkv/proj/fc1/fc2
//   (192,576) (192,192) (192,768) (768,192) and DeiT-Small qkv/fc2 (384,1152) (1536,384).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/cpu_features.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "measure/meter.hpp"
#include "kernels/bit_gemm.hpp"
#include "kernels/intrinsics_warnings.hpp"
#include "kernels/layernorm.hpp"
#include "kernels/onednn_matmul.hpp"
#include "kernels/test_only/bitserial_gemm.hpp"
#include "kernels/test_only/lut_gemv.hpp"
#include "core/simd.hpp"
#include "kernels/xnor_gemm.hpp"

namespace {

using namespace bb;

// The oneDNN peers of a shape, fp32 and u8s8, on random data: timed beside every bit kernel.
struct Peers {
  std::vector<float> wf, xf, y, scales;
  std::vector<int8_t> w8;
  std::vector<uint8_t> x8;
  std::unique_ptr<OnednnMatmul> f32, i8;
  Peers(int64_t M, int64_t K, int64_t N) {
    Rng r(1);
    wf.resize(static_cast<size_t>(N * K));
    xf.resize(static_cast<size_t>(M * K));
    y.resize(static_cast<size_t>(M * N));
    w8.resize(wf.size());
    x8.resize(xf.size());
    for (size_t i = 0; i < wf.size(); ++i) {
      wf[i] = static_cast<float>(r.normal());
      w8[i] = static_cast<int8_t>(static_cast<int>(r.below(255)) - 127);
    }
    for (size_t i = 0; i < xf.size(); ++i) {
      xf[i] = static_cast<float>(r.normal());
      x8[i] = static_cast<uint8_t>(r.below(256));
    }
    scales.assign(static_cast<size_t>(N), 0.01f);
    f32 = std::make_unique<OnednnMatmul>(OnednnMatmulType::kF32, wf.data(), nullptr, M, N, K);
    i8 = std::make_unique<OnednnMatmul>(OnednnMatmulType::kU8S8, w8.data(), scales.data(), M, N, K);
  }
  void run_f32() { f32->run(xf.data(), y.data()); }
  void run_int8() { i8->run(x8.data(), y.data()); }
};

// The meter's settings for a kernel and its peers: 3 interleaved rounds, 0.2 s per call in all.
constexpr RoundsOptions kKernelRounds{.rounds = 3, .min_seconds = 0.2, .warmup = 1, .seed = 0};

void set_gops(benchmark::State& state, int64_t M, int64_t K, int64_t N) {
  state.counters["GOP/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 2.0 * static_cast<double>(M * N * K) / 1e9,
                                               benchmark::Counter::kIsRate);
}

// One benchmark's problem (args: M, K, N, threads): random codes of a weight
// format, fp32 activations, per-column scales, the output.
struct Problem {
  int64_t M, K, N;
  std::vector<int8_t> codes;    // [N, K]
  std::vector<float> scales, x, y;  // [N], [M, K], [M, N]
};
Problem make_problem(benchmark::State& state, WeightFormat kind, uint64_t seed) {
  Problem p{state.range(0), state.range(1), state.range(2), {}, {}, {}, {}};
  set_num_threads(static_cast<int>(state.range(3)));
  const WeightFormatTraits& t = weight_traits(kind);
  Rng r(seed);
  p.codes.resize(static_cast<size_t>(p.N * p.K));
  for (auto& c : p.codes) {
    int v = t.min_code + static_cast<int>(r.below(static_cast<uint64_t>(t.max_code - t.min_code + 1)));
    c = static_cast<int8_t>(kind == WeightFormat::kBinary && v == 0 ? 1 : v);
  }
  p.scales.assign(static_cast<size_t>(p.N), 0.01f);
  p.x.resize(static_cast<size_t>(p.M * p.K));
  for (auto& v : p.x) v = static_cast<float>(r.normal());
  p.y.resize(static_cast<size_t>(p.M * p.N));
  return p;
}

// The timed loop, then GOP/s, then the kernel and oneDNN on the same shape and
// threads by the meter: oneDNN's GOP/s and the ratios.
// quantize_then_run (optional): the same call with the activation quantiser
// inside the timed region — oneDNN fp32 takes floats, so x_fp32_with_quant is
// the like-for-like ratio; oneDNN int8 takes already-quantised u8 like run().
template <class Run, class QRun = std::nullptr_t>
void time_kernel(benchmark::State& state, const Problem& p, Run&& run, const char* label, QRun quantize_then_run = nullptr) {
  const int threads = static_cast<int>(state.range(3));
  Peers peers(p.M, p.K, p.N);
  run();
  for (auto _ : state) run();
  set_gops(state, p.M, p.K, p.N);
  std::vector<std::function<void()>> runs = {[&] { peers.run_f32(); }, [&] { peers.run_int8(); }, run};
  if constexpr (!std::is_same_v<QRun, std::nullptr_t>) runs.push_back(quantize_then_run);
  const RoundsResult t = measure_rounds(runs, 1, threads, kKernelRounds);
  const double ops = 2.0 * static_cast<double>(p.M * p.N * p.K);
  state.counters["x_fp32"] = t.ratio(0, 2, 0).median;
  state.counters["x_int8"] = t.ratio(1, 2, 0).median;
  state.counters["onednn_fp32_GOP/s"] = ops / t.stats[0].mean_ms / 1e6;
  state.counters["onednn_int8_GOP/s"] = ops / t.stats[1].mean_ms / 1e6;
  if constexpr (!std::is_same_v<QRun, std::nullptr_t>) {
    state.counters["x_fp32_with_quant"] = t.ratio(0, 3, 0).median;
    state.counters["x_int8_with_quant"] = t.ratio(1, 3, 0).median;
  }
  state.SetLabel(label);
  set_num_threads(0);
}

void BM_BitGemm(benchmark::State& state, WeightFormat kind, ActFormat act) {
  Problem p = make_problem(state, kind, 2);
  BitMatrix w = pack_bit_matrix(kind, p.codes.data(), p.N, p.K, p.scales.data(), true);
  BitActs a;
  quantize_acts(p.x.data(), p.M, p.K, act, a);
  time_kernel(
      state, p, [&] { bit_gemm(a, w, nullptr, p.y.data()); benchmark::DoNotOptimize(p.y.data()); }, bit_gemm_path(),
      [&] {
        quantize_acts(p.x.data(), p.M, p.K, act, a);
        bit_gemm(a, w, nullptr, p.y.data());
        benchmark::DoNotOptimize(p.y.data());
      });
}

// W1A1 on XNOR-popcount, same shapes and peers.
void BM_XnorGemm(benchmark::State& state) {
  Problem p = make_problem(state, WeightFormat::kBinary, 4);
  SignMatrix w = pack_sign_matrix(p.codes.data(), p.N, p.K, p.scales.data(), true);
  SignActs a;
  quantize_signs(p.x.data(), p.M, p.K, a);
  time_kernel(
      state, p, [&] { xnor_gemm(a, w, nullptr, p.y.data()); benchmark::DoNotOptimize(p.y.data()); }, xnor_gemm_path(),
      [&] {
        quantize_signs(p.x.data(), p.M, p.K, a);
        xnor_gemm(a, w, nullptr, p.y.data());
        benchmark::DoNotOptimize(p.y.data());
      });
}

// Bit-serial WkAk from bit planes (compare with BM_BitGemm at the same widths).
void BM_BitserialGemm(benchmark::State& state, WeightFormat kind, ActFormat act) {
  Problem p = make_problem(state, kind, 5);
  PlaneMatrix w = pack_plane_matrix(weight_traits(kind), p.codes.data(), p.N, p.K, p.scales.data(), true);
  BitActs a;
  quantize_acts(p.x.data(), p.M, p.K, act, a);
  PlaneActs pa;
  planes_from_acts(a, pa);
  time_kernel(state, p, [&] { bitserial_gemm(pa, w, nullptr, p.y.data()); benchmark::DoNotOptimize(p.y.data()); },
              bitserial_gemm_path());
}

// The ternary lookup-table GEMV (W1.58A8), with bit_gemm timed on the same
// problem: x_bit_gemm = bit_gemm time / table time (above 1: the table wins).
void BM_LutGemv(benchmark::State& state) {
  Problem p = make_problem(state, WeightFormat::kTernary, 2);
  LutMatrix w = pack_lut_matrix(p.codes.data(), p.N, p.K, p.scales.data(), true);
  BitMatrix wb = pack_bit_matrix(WeightFormat::kTernary, p.codes.data(), p.N, p.K, p.scales.data(), true);
  BitActs a;
  quantize_acts(p.x.data(), p.M, p.K, ActFormat::kInt8, a);
  auto lut = [&] { lut_gemv(a, w, nullptr, p.y.data()); benchmark::DoNotOptimize(p.y.data()); };
  auto bit = [&] { bit_gemm(a, wb, nullptr, p.y.data()); benchmark::DoNotOptimize(p.y.data()); };
  time_kernel(state, p, lut, lut_gemv_path());
  state.counters["x_bit_gemm"] = time_ratio(bit, lut, static_cast<int>(state.range(3)), kKernelRounds).median;
}

void BM_QuantizeActs(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1);
  set_num_threads(static_cast<int>(state.range(2)));
  Rng r(3);
  std::vector<float> x(static_cast<size_t>(M * K));
  for (auto& v : x) v = static_cast<float>(r.normal());
  BitActs a;
  for (auto _ : state) {
    quantize_acts(x.data(), M, K, ActFormat::kInt8, a);
    benchmark::DoNotOptimize(a.q.data());
  }
  state.counters["GB/s in"] = benchmark::Counter(static_cast<double>(state.iterations()) * 4.0 * static_cast<double>(M * K) / 1e9,
                                                 benchmark::Counter::kIsRate);
  set_num_threads(0);
}

// SubLN fused into the quantiser (quantize_acts with an eps: one pass per row
// block, the normalised row never written) beside the unfused path it equals
// bit for bit (tests/test_bit_gemm: LayerNorm without affine into a buffer,
// then the plain quantiser). x_unfused = unfused time / fused time, the meter's
// median of 7 interleaved rounds in this process, x_unfused_lo .. _hi its 95 % interval.
void BM_SubLNQuantize(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1);
  Rng r(4);
  std::vector<float> x(static_cast<size_t>(M * K)), ln(x.size());
  for (auto& v : x) v = static_cast<float>(3 * r.normal() + 0.5);
  BitActs a;
  auto fused = [&] {
    quantize_acts(x.data(), M, K, ActFormat::kInt8, a, 1e-6f);
    benchmark::DoNotOptimize(a.q.data());
  };
  auto unfused = [&] {
    layernorm_rows(x.data(), nullptr, nullptr, ln.data(), M, K, 1e-6f, nullptr, nullptr);
    quantize_acts(ln.data(), M, K, ActFormat::kInt8, a);
    benchmark::DoNotOptimize(a.q.data());
  };
  for (auto _ : state) fused();
  const RatioInterval ratio = time_ratio(unfused, fused, num_threads(), {.rounds = 7, .min_seconds = 1.4, .warmup = 1, .seed = 0});
  state.counters["x_unfused"] = ratio.median;
  state.counters["x_unfused_lo"] = ratio.lo;
  state.counters["x_unfused_hi"] = ratio.hi;
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "threads"});
  for (int threads : {1, 2})
    for (int64_t M : {1, 16, 197, 16 * 197})
      for (auto [K, N] : {std::pair<int64_t, int64_t>{192, 576}, {192, 192}, {192, 768}, {768, 192}, {384, 1152}, {1536, 384}})
        b->Args({M, K, N, threads});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_BitGemm, w1_58a8, WeightFormat::kTernary, ActFormat::kInt8)->Apply(shapes);
BENCHMARK_CAPTURE(BM_BitGemm, w1a8, WeightFormat::kBinary, ActFormat::kInt8)->Apply(shapes);
BENCHMARK_CAPTURE(BM_BitGemm, w2a8, WeightFormat::kInt2, ActFormat::kInt8)->Apply(shapes);
BENCHMARK_CAPTURE(BM_BitGemm, w4a8, WeightFormat::kInt4, ActFormat::kInt8)->Apply(shapes);
BENCHMARK_CAPTURE(BM_BitGemm, w8a8, WeightFormat::kInt8, ActFormat::kInt8)->Apply(shapes);
BENCHMARK(BM_XnorGemm)->Apply(shapes);
BENCHMARK_CAPTURE(BM_BitGemm, w1a2, WeightFormat::kBinary, ActFormat::kInt2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_BitserialGemm, w1a2, WeightFormat::kBinary, ActFormat::kInt2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_BitserialGemm, w2a2, WeightFormat::kInt2, ActFormat::kInt2)->Apply(shapes);
BENCHMARK(BM_LutGemv)
    ->ArgNames({"M", "K", "N", "threads"})
    ->ArgsProduct({{1, 4, 8}, {192, 768}, {192, 576, 768}, {1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SubLNQuantize)
    ->ArgNames({"M", "K"})
    ->ArgsProduct({{1, 197, 2 * 197}, {192, 768}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QuantizeActs)
    ->ArgNames({"M", "K", "threads"})
    ->ArgsProduct({{1, 16, 197, 16 * 197}, {192, 768, 1536}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// What one core sustains, the yardstick for bench_vit's per-part profile
// (issue #33): independent chains of 512-bit vpdpbusd (64 int8 MACs each) or
// vfmadd (16 fp32 FMAs each), 12 accumulators in registers so latency never binds.
// Counters: GMAC/s (int8) or GFMA/s (fp32) on one thread.
#define BB_12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
__attribute__((target("avx512f,avx512vnni"))) int64_t vnni_chains(int64_t n) {
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
#define BB_DECL(i) __m512i x##i = _mm512_set1_epi32(i);
#define BB_STEP(i) x##i = _mm512_dpbusd_epi32(x##i, a, b);
#define BB_SUM(i) s = _mm512_add_epi32(s, x##i);
  BB_12(BB_DECL)
  for (int64_t i = 0; i < n; ++i) {
    asm volatile("" : "+v"(a), "+v"(b));  // opaque operands: the chains cannot be folded
    BB_12(BB_STEP)
  }
  __m512i s = _mm512_setzero_si512();
  BB_12(BB_SUM)
#undef BB_DECL
#undef BB_STEP
#undef BB_SUM
  return _mm512_reduce_add_epi32(s);
}
__attribute__((target("avx512f"))) float fma_chains(int64_t n) {
  __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
#define BB_DECL(i) __m512 x##i = _mm512_set1_ps(static_cast<float>(i));
#define BB_STEP(i) x##i = _mm512_fmadd_ps(x##i, a, b);
#define BB_SUM(i) s = _mm512_add_ps(s, x##i);
  BB_12(BB_DECL)
  for (int64_t i = 0; i < n; ++i) {
    asm volatile("" : "+v"(a), "+v"(b));  // opaque operands: the chains cannot be folded
    BB_12(BB_STEP)
  }
  __m512 s = _mm512_setzero_ps();
  BB_12(BB_SUM)
#undef BB_DECL
#undef BB_STEP
#undef BB_SUM
  return _mm512_reduce_add_ps(s);
}
#undef BB_12
void BM_CorePeak(benchmark::State& state, bool int8) {
  if (!cpu_features().avx512f || (int8 && !cpu_features().avx512vnni)) {
    state.SkipWithError("needs AVX-512 (and VNNI for int8): no peak to measure on this CPU");
    return;
  }
  constexpr int64_t n = 1 << 16;
  for (auto _ : state) {
    if (int8)
      benchmark::DoNotOptimize(vnni_chains(n));
    else
      benchmark::DoNotOptimize(fma_chains(n));
  }
  const double ops = static_cast<double>(state.iterations()) * n * 12 * (int8 ? 64 : 16) / 1e9;
  state.counters[int8 ? "GMAC/s" : "GFMA/s"] = benchmark::Counter(ops, benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_CorePeak, vnni_int8, true)->UseRealTime();
BENCHMARK_CAPTURE(BM_CorePeak, fma_fp32, false)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
