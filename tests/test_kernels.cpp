// The vectorised float kernels against plain references, under every ISA this
// CPU can run (set_isa_limit lowers the dispatch): the fast exp/erf against
// libm, the fused attention against the reference backend on odd shapes
// (T = 1, T not a multiple of 16, Dh not a multiple of 16, one head), the
// row-wise layer ops against double-precision loops, and thread-count
// independence of the chunked reductions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/cpu_features.hpp"
#include "core/error.hpp"
#include "isa_paths.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "kernels/attention_fused.hpp"
#include "kernels/attention_infer.hpp"
#include "kernels/attention_quant.hpp"
#include "kernels/layernorm.hpp"
#include "kernels/backend.hpp"
#include "kernels/fast_math.hpp"
#include "kernels/act_quant.hpp"
#include "kernels/int_attention.hpp"
#include "kernels/int_layernorm.hpp"
#include "kernels/int_ops.hpp"
#include "kernels/parallel.hpp"
#include "core/simd.hpp"
#include "kernels/vector_ops.hpp"
#include "models/layers.hpp"
#include "models/runnable_model.hpp"

namespace bb {
namespace {

// The fast math functions, compiled per ISA the same way the kernels are.
BB_INLINE void exp_many_body(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_approx(x[i]);
}
BB_MULTIVERSION(exp_many, (const float* x, float* y, int64_t n), (x, y, n))
BB_INLINE void erf_many_body(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = erf_approx(x[i]);
}
BB_MULTIVERSION(erf_many, (const float* x, float* y, int64_t n), (x, y, n))

std::vector<float> randn(size_t n, uint64_t seed, double scale = 1.0) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(scale * r.normal());
  return v;
}

using test::for_each_isa;

TEST(Simd, IsaNamesRoundTripAndUnknownIsRefused) {
  for (Isa i : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) EXPECT_EQ(parse_isa(isa_name(i)), i);
  EXPECT_THROW(parse_isa("sse9"), Error);
  set_isa_limit(Isa::kGeneric);
  EXPECT_EQ(active_isa(), Isa::kGeneric);
  set_isa_limit(Isa::kAvx512);
}

TEST(FastMath, ExpMatchesLibmToRelative3e7) {
  std::vector<float> x;
  for (int i = 0; i <= 200000; ++i) x.push_back(-87.0f + 175.0f * static_cast<float>(i) / 200000.0f);
  for (float v : {0.0f, -0.0f, 1e-8f, -1e-8f, 0.5f, -0.5f}) x.push_back(v);
  std::vector<float> y(x.size());
  for_each_isa([&] {
    exp_many(x.data(), y.data(), static_cast<int64_t>(x.size()));
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double e = std::exp(static_cast<double>(x[i]));
      worst = std::max(worst, std::fabs(y[i] - e) / e);
    }
    EXPECT_LT(worst, 3e-7);
  });
  // Beyond the range it clamps instead of producing inf or denormals.
  const float big[2] = {-1000.0f, 1000.0f};
  float out[2];
  exp_many(big, out, 2);
  EXPECT_GT(out[0], 0.0f);
  EXPECT_LT(out[0], 1e-37f);
  EXPECT_TRUE(std::isfinite(out[1]));
}

TEST(FastMath, ErfMatchesLibmToAbsolute6e7) {
  std::vector<float> x;
  for (int i = 0; i <= 100000; ++i) x.push_back(-6.0f + 12.0f * static_cast<float>(i) / 100000.0f);
  std::vector<float> y(x.size());
  for_each_isa([&] {
    erf_many(x.data(), y.data(), static_cast<int64_t>(x.size()));
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(y[i] - std::erf(double(x[i]))));
    EXPECT_LT(worst, 6e-7);
  });
}

TEST(VectorOps, SoftmaxRowsMatchesExactOnOddWidths) {
  for (int64_t n : {1, 3, 16, 17, 50}) {
    const int64_t rows = 37;
    auto x = randn(static_cast<size_t>(rows * n), static_cast<uint64_t>(n), 4.0);
    x[0] = -300.0f;  // far below the rest of its row
    for_each_isa([&] {
      std::vector<float> y = x;
      softmax_rows_fast(y.data(), rows, n);
      for (int64_t r = 0; r < rows; ++r) {
        double mx = -1e30, sum = 0;
        for (int64_t j = 0; j < n; ++j) mx = std::max(mx, double(x[r * n + j]));
        for (int64_t j = 0; j < n; ++j) sum += std::exp(x[r * n + j] - mx);
        for (int64_t j = 0; j < n; ++j)
          EXPECT_NEAR(y[r * n + j], std::exp(x[r * n + j] - mx) / sum, 1e-6) << "n " << n << " row " << r;
      }
    });
  }
}

// Rows whose reductions run side by side (softmax 4 rows at a time, padded or
// not) give the same floats as the same rows one at a time, on every path,
// on widths around the vector width and row counts around the group size.
TEST(VectorOps, SoftmaxOfRowsTogetherEqualsRowByRowBitForBit) {
  for (int64_t n : {1, 15, 16, 17, 50, 197})
    for (int64_t rows : {1, 3, 4, 5, 9, 16}) {
      auto x = randn(static_cast<size_t>(rows * n), static_cast<uint64_t>(n * 100 + rows), 4.0);
      const int64_t np = (n + 15) / 16 * 16;
      std::vector<float> xp(static_cast<size_t>(rows * np), 0.0f);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < n; ++j) xp[static_cast<size_t>(r * np + j)] = x[static_cast<size_t>(r * n + j)];
      for_each_isa([&] {
        SCOPED_TRACE("n " + std::to_string(n) + " rows " + std::to_string(rows));
        std::vector<float> together = x, alone = x, ptogether = xp, palone = xp;
        softmax_rows_fast(together.data(), rows, n);
        for (int64_t r = 0; r < rows; ++r) softmax_rows_fast(alone.data() + r * n, 1, n);
        EXPECT_EQ(together, alone);
        softmax_padded_block(ptogether.data(), rows, n, np);
        for (int64_t r = 0; r < rows; ++r) softmax_padded_block(palone.data() + r * np, 1, n, np);
        EXPECT_EQ(ptogether, palone);
      });
    }
}

// LayerNorm takes rows 8 at a time with their sums side by side: the same
// floats (output, mean, rstd) as one row at a time, with and without affine
// parameters, on every path.
TEST(LayerOps, LayerNormOfRowsTogetherEqualsRowByRowBitForBit) {
  for (int64_t D : {1, 15, 16, 17, 64, 192})
    for (int64_t rows : {1, 7, 8, 9, 21}) {
      auto x = randn(static_cast<size_t>(rows * D), static_cast<uint64_t>(D * 100 + rows), 3.0);
      auto w = randn(static_cast<size_t>(D), 5), b = randn(static_cast<size_t>(D), 6);
      for_each_isa([&] {
        SCOPED_TRACE("D " + std::to_string(D) + " rows " + std::to_string(rows));
        for (bool affine : {true, false}) {
          std::vector<float> y1(x.size()), y2(x.size()), m1(static_cast<size_t>(rows)), m2(m1.size()), r1(m1.size()),
              r2(m1.size());
          const float* wp = affine ? w.data() : nullptr;
          const float* bp = affine ? b.data() : nullptr;
          layernorm_rows(x.data(), wp, bp, y1.data(), rows, D, 1e-6f, m1.data(), r1.data());
          for (int64_t r = 0; r < rows; ++r)
            layernorm_rows(x.data() + r * D, wp, bp, y2.data() + r * D, 1, D, 1e-6f, m2.data() + r, r2.data() + r);
          EXPECT_EQ(y1, y2);
          EXPECT_EQ(m1, m2);
          EXPECT_EQ(r1, r2);
        }
      });
    }
}

TEST(VectorOps, ColumnSumsMatchPlainSumsAndIgnoreThreadCount) {
  for (auto [M_, N_] : {std::pair<int64_t, int64_t>{1, 1}, {1, 7}, {63, 5}, {65, 33}, {300, 192}}) {
    const int64_t M = M_, N = N_;  // plain variables: lambdas capture them (clang 14 cannot capture bindings)
    auto x = randn(static_cast<size_t>(M * N), static_cast<uint64_t>(M + N));
    std::vector<double> want(static_cast<size_t>(N), 0.5);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) want[n] += x[m * N + n];
    std::vector<float> one;
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      for_each_isa([&] {
        std::vector<float> got(static_cast<size_t>(N), 0.5f);
        column_sums_add(x.data(), got.data(), M, N);
        for (int64_t n = 0; n < N; ++n) EXPECT_NEAR(got[n], want[n], 1e-4 * (1 + std::fabs(want[n])));
        if (active_isa() == Isa::kGeneric) {
          if (one.empty()) one = got;
          else EXPECT_EQ(one, got) << "depends on the thread count";
        }
      });
    }
    set_num_threads(0);
  }
}

// Attention through the fused kernel and through the reference backend.
class FusedAttention : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int64_t>> {};

TEST_P(FusedAttention, MatchesReferenceForwardAndBackward) {
  const auto [B_, T_, H_, Dh_] = GetParam();
  const int64_t B = B_, T = T_, H = H_, Dh = Dh_;  // captured below (clang 14 cannot capture bindings)
  const int64_t D = H * Dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  auto qkv = randn(static_cast<size_t>(B * T * 3 * D), 11, 1.5), dout = randn(static_cast<size_t>(B * T * D), 12);
  auto ref = make_reference_backend();
  std::vector<float> p_ref(static_cast<size_t>(B * H * T * T)), o_ref(static_cast<size_t>(B * T * D));
  std::vector<float> d_ref(qkv.size()), scratch(p_ref.size());
  ref->attention(qkv.data(), p_ref.data(), o_ref.data(), B, T, H, Dh, scale);
  ref->attention_backward(qkv.data(), p_ref.data(), dout.data(), d_ref.data(), scratch.data(), B, T, H, Dh, scale);
  for_each_isa([&] {
    std::vector<float> p(p_ref.size(), -1.0f), o(o_ref.size(), -1.0f), d(qkv.size(), -1.0f);
    attention_fused(qkv.data(), p.data(), o.data(), B, T, H, Dh, scale);
    attention_fused_backward(qkv.data(), p.data(), dout.data(), d.data(), B, T, H, Dh, scale);
    for (size_t i = 0; i < p.size(); ++i) ASSERT_NEAR(p[i], p_ref[i], 1e-6) << "probs " << i;
    for (size_t i = 0; i < o.size(); ++i) ASSERT_NEAR(o[i], o_ref[i], 1e-5) << "out " << i;
    for (size_t i = 0; i < d.size(); ++i) ASSERT_NEAR(d[i], d_ref[i], 2e-5 * (1 + std::fabs(d_ref[i]))) << "dqkv " << i;
  });
}

INSTANTIATE_TEST_SUITE_P(OddShapes, FusedAttention,
                         ::testing::Values(std::make_tuple(1, 1, 1, 1), std::make_tuple(1, 3, 2, 5),
                                           std::make_tuple(2, 17, 3, 16), std::make_tuple(3, 50, 4, 16),
                                           std::make_tuple(1, 33, 1, 20), std::make_tuple(2, 5, 2, 33)));

// Data-parallel inference (RunnableModel::forward): two workers run their
// parts of a batch at once through one shared engine (the bit kernels' packed
// weights; onednn-int8's primitive map) and their own runners and backends,
// and every image gets the logits one thread gives it, on every backend.
// Here so that the TSan build, which runs this suite, checks them for races.
TEST(DataParallel, WorkersShareTheEngineAndGiveTheOneThreadLogits) {
  ViTConfig c;
  c.img_size = 32; c.patch_size = 4; c.in_chans = 1; c.embed_dim = 64; c.depth = 2; c.num_heads = 4;
  c.mlp_hidden = 128; c.num_classes = 10;
  QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec("W1.58A8"));
  plan.attn_qk = plan.attn_pv = ActFormat::kInt8;
  plan.integer = plan.int_layernorm = plan.subln = true;  // every integer function's scratch in two workers at once
  Tensor x(Shape{6, 1, 32, 32});
  Rng r(21);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  for (ModelBackend b : {ModelBackend::kOnednn, ModelBackend::kFakeQuant, ModelBackend::kBitKernels,
                         ModelBackend::kOnednnInt8}) {
    SCOPED_TRACE(model_backend_name(b));
    ViTParams p(c);
    p.init_random(22);
    auto model = open_model(std::move(p), b == ModelBackend::kOnednn ? nullptr : &plan, b);
    set_num_threads(1);
    EXPECT_EQ(model->data_parallel_parts(6), 1);
    const TensorView one = model->forward(x.view());
    const std::vector<float> want(one.data(), one.data() + one.numel());
    const int64_t one_runner = model->arena_floats();
    set_num_threads(2);
    EXPECT_EQ(model->data_parallel_parts(1), 1);  // one image is never split
    ASSERT_EQ(model->data_parallel_parts(6), 2);
    for (int rep = 0; rep < 2; ++rep) {  // the second time on the workers made by the first
      const TensorView two = model->forward(x.view());
      ASSERT_EQ(std::vector<float>(two.data(), two.data() + two.numel()), want);
    }
    EXPECT_GT(model->arena_floats(), one_runner);  // the second part's runner holds its own activations
    EXPECT_EQ(num_threads(), 2);                   // the workers' counts stayed their own
  }
  set_num_threads(0);
}

// The inference attention (no probabilities saved) against the reference, on
// odd T and Dh (row blocks of 8 and tasks of 64 rows with tails, Dh not a
// multiple of 16 or 32), DeiT-Tiny's T 197 × Dh 64, every ISA path, 1 and 2 threads;
// and the oneDNN backend routes a null `scores` there (or to the fused kernel for small heads).
// oneDNN fixes a primitive's thread count when it creates it: one made at 1
// thread and reused at 2 ran on one thread (a latency sweep's 2-thread points
// timed 1-thread primitives). Each thread count gets its own.
// Work too small for a parallel region (kernels/parallel.hpp) keeps its
// 1-thread primitive at any count.
TEST(OnednnBackend, EachThreadCountGetsItsOwnPrimitiveWhereTheWorkPays) {
  auto dnn = make_onednn_backend();
  const ThreadCountGuard restore(num_threads());  // whatever fails below
  int64_t held = 0;
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{256, 128, 128}, {50, 24, 40}}) {
    const bool pays = parallel_pays_macs(M * N * K);
    const auto x = randn(static_cast<size_t>(M * K), 61), w = randn(static_cast<size_t>(N * K), 62);
    std::vector<float> y1(static_cast<size_t>(M * N)), y2(y1.size());
    set_num_threads(1);
    dnn->linear(x.data(), w.data(), nullptr, y1.data(), M, N, K);
    EXPECT_EQ(dnn->cached_primitives(), ++held);
    set_num_threads(2);
    dnn->linear(x.data(), w.data(), nullptr, y2.data(), M, N, K);
    if (pays) ++held;
    EXPECT_EQ(dnn->cached_primitives(), held) << M << "x" << N << "x" << K;
    dnn->linear(x.data(), w.data(), nullptr, y2.data(), M, N, K);
    EXPECT_EQ(dnn->cached_primitives(), held);  // and keeps it
    for (size_t i = 0; i < y1.size(); ++i) ASSERT_NEAR(y1[i], y2[i], 1e-3f * (1 + std::fabs(y1[i])));
  }
}

class InferenceAttention : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int64_t>> {};

TEST_P(InferenceAttention, MatchesReferenceOnEveryPath) {
  const auto [B_, T_, H_, Dh_] = GetParam();
  const int64_t B = B_, T = T_, H = H_, Dh = Dh_;
  const int64_t D = H * Dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  auto qkv = randn(static_cast<size_t>(B * T * 3 * D), 21, 1.5);
  auto ref = make_reference_backend();
  std::vector<float> p_ref(static_cast<size_t>(B * H * T * T)), o_ref(static_cast<size_t>(B * T * D));
  ref->attention(qkv.data(), p_ref.data(), o_ref.data(), B, T, H, Dh, scale);
  auto dnn = make_onednn_backend();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for_each_isa([&] {
      std::vector<float> o(o_ref.size(), -1.0f), o2(o_ref.size(), -1.0f);
      attention_infer(qkv.data(), o.data(), B, T, H, Dh, scale);
      for (size_t i = 0; i < o.size(); ++i) ASSERT_NEAR(o[i], o_ref[i], 1e-5) << "out " << i;
      dnn->attention(qkv.data(), nullptr, o2.data(), B, T, H, Dh, scale);
      for (size_t i = 0; i < o2.size(); ++i) ASSERT_NEAR(o2[i], o_ref[i], 1e-5) << "backend out " << i;
    });
  }
  set_num_threads(0);
}

INSTANTIATE_TEST_SUITE_P(OddShapes, InferenceAttention,
                         ::testing::Values(std::make_tuple(1, 1, 1, 1), std::make_tuple(1, 9, 2, 5),
                                           std::make_tuple(2, 65, 3, 33), std::make_tuple(1, 197, 3, 64),
                                           std::make_tuple(2, 70, 2, 16), std::make_tuple(1, 130, 1, 80)));

// Attention on integer codes (attention_quant.hpp). With both sides fp32 it
// is the float attention: forward and backward against the reference backend.
// Quantised, against double loops over the dequantised codes (q̂, k̂ from the
// fake quantiser per token row, v̂ per channel, p̂ = α · clip(round(p / α))),
// with the straight-through backward and LSQ's step gradient; on odd shapes,
// a zero query row and a key row 10× the rest, every ISA path, 1 and 2
// threads (the step gradient the same floats on both, per path).
class QuantisedAttention : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int64_t>> {};

TEST_P(QuantisedAttention, MatchesFloatAttentionWhenFp32AndDoubleLoopsOverCodes) {
  const auto [B_, T_, H_, Dh_] = GetParam();
  const int64_t B = B_, T = T_, H = H_, Dh = Dh_;
  const int64_t D = H * Dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  auto qkv = randn(static_cast<size_t>(B * T * 3 * D), 31, 1.5), dout = randn(static_cast<size_t>(B * T * D), 32);
  for (int64_t j = 0; j < Dh; ++j) qkv[static_cast<size_t>(j)] = 0.0f;  // image 0, token 0, head 0: q = 0
  if (T > 1)
    for (int64_t j = 0; j < Dh; ++j) qkv[static_cast<size_t>(3 * D + D + j)] *= 10.0f;  // token 1's k
  auto at = [&](const std::vector<float>& v, int64_t b, int64_t t, int64_t which, int64_t h, int64_t j) {
    return static_cast<double>(v[static_cast<size_t>(((b * T + t) * 3 + which) * D + h * Dh + j)]);
  };
  {  // fp32: the float attention
    auto ref = make_reference_backend();
    std::vector<float> p_ref(static_cast<size_t>(B * H * T * T)), o_ref(static_cast<size_t>(B * T * D));
    std::vector<float> d_ref(qkv.size()), scratch(p_ref.size());
    ref->attention(qkv.data(), p_ref.data(), o_ref.data(), B, T, H, Dh, scale);
    ref->attention_backward(qkv.data(), p_ref.data(), dout.data(), d_ref.data(), scratch.data(), B, T, H, Dh, scale);
    std::vector<float> p(p_ref.size()), o(o_ref.size()), hat(qkv.size()), d(qkv.size());
    attention_quant_forward(qkv.data(), AttnQuant{}, nullptr, p.data(), hat.data(), o.data(), B, T, H, Dh, scale);
    attention_quant_backward(hat.data(), p.data(), dout.data(), AttnQuant{}, nullptr, d.data(), nullptr, B, T, H, Dh, scale);
    EXPECT_EQ(hat, qkv);
    for (size_t i = 0; i < p.size(); ++i) ASSERT_NEAR(p[i], p_ref[i], 1e-6) << "probs " << i;
    for (size_t i = 0; i < o.size(); ++i) ASSERT_NEAR(o[i], o_ref[i], 1e-5) << "out " << i;
    // (the key row 10× the rest saturates rows: their p (dp − Σ p dp) cancels, as below)
    for (size_t i = 0; i < d.size(); ++i) ASSERT_NEAR(d[i], d_ref[i], 1e-4 * (1 + std::fabs(d_ref[i]))) << "dqkv " << i;
  }
  using F = ActFormat;
  const std::vector<std::pair<F, F>> formats = {{F::kInt8, F::kInt8}, {F::kInt4, F::kInt2}, {F::kBinary, F::kBinary},
                                                {F::kF32, F::kBinary}, {F::kInt2, F::kF32}};
  std::vector<float> prob_scale(static_cast<size_t>(H));
  for (int64_t h = 0; h < H; ++h) prob_scale[static_cast<size_t>(h)] = h == 1 ? 0.001f : 0.7f + 0.3f * static_cast<float>(h);
  std::set<std::string> ran;
  for (const auto& [qk_, pv_] : formats)
    for (ActScale rule : {ActScale::kAbsMax, ActScale::kAbsMean})
      for (const float* ps : {static_cast<const float*>(nullptr), static_cast<const float*>(prob_scale.data())}) {
        const AttnQuant aq{qk_, pv_, rule};
        SCOPED_TRACE(std::string("qk ") + (act_traits(aq.qk).bits == 32 ? "fp32" : act_traits(aq.qk).token) + " pv " +
                     (act_traits(aq.pv).bits == 32 ? "fp32" : act_traits(aq.pv).token) + " " + act_scale_name(rule) +
                     (ps ? " prob_scale" : ""));
        // The reference's dequantised q̂, k̂ (rows) and v̂ (channels over tokens).
        std::vector<float> want_hat(qkv.size());
        for (int64_t b = 0; b < B; ++b)
          for (int64_t h = 0; h < H; ++h) {
            std::vector<float> q(static_cast<size_t>(T * Dh)), k(q.size()), vt(q.size()), qh(q.size()), kh(q.size()), vh(q.size());
            for (int64_t t = 0; t < T; ++t)
              for (int64_t j = 0; j < Dh; ++j) {
                q[static_cast<size_t>(t * Dh + j)] = static_cast<float>(at(qkv, b, t, 0, h, j));
                k[static_cast<size_t>(t * Dh + j)] = static_cast<float>(at(qkv, b, t, 1, h, j));
                vt[static_cast<size_t>(j * T + t)] = static_cast<float>(at(qkv, b, t, 2, h, j));
              }
            act_traits(aq.qk).fake_quant(q.data(), T, Dh, qh.data(), rule);
            act_traits(aq.qk).fake_quant(k.data(), T, Dh, kh.data(), rule);
            act_traits(aq.pv).fake_quant(vt.data(), Dh, T, vh.data(), rule);
            for (int64_t t = 0; t < T; ++t)
              for (int64_t j = 0; j < Dh; ++j) {
                float* row = &want_hat[static_cast<size_t>((b * T + t) * 3 * D + h * Dh)];
                row[j] = qh[static_cast<size_t>(t * Dh + j)];
                row[D + j] = kh[static_cast<size_t>(t * Dh + j)];
                row[2 * D + j] = vh[static_cast<size_t>(j * T + t)];
              }
          }
        std::map<std::string, std::vector<float>> dps_first;  // per ISA path
        for (int threads : {1, 2}) {
          set_num_threads(threads);
          for_each_isa([&] {
            std::vector<float> p(static_cast<size_t>(B * H * T * T)), o(static_cast<size_t>(B * T * D)), hat(qkv.size());
            std::vector<float> d(qkv.size()), dps(static_cast<size_t>(H), 0.0f);
            attention_quant_forward(qkv.data(), aq, ps, p.data(), hat.data(), o.data(), B, T, H, Dh, scale);
            attention_quant_backward(hat.data(), p.data(), dout.data(), aq, ps, d.data(), dps.data(), B, T, H, Dh, scale);
            ASSERT_EQ(hat, want_hat);
            const int Q = aq.pv == F::kF32 ? 0 : (1 << act_traits(aq.pv).bits) - 1;
            std::vector<double> dps_ref(static_cast<size_t>(H), 0.0);
            for (int64_t b = 0; b < B; ++b)
              for (int64_t h = 0; h < H; ++h) {
                const double base = Q ? attn_prob_base_step(aq.pv, T) : 0.0;
                const double alpha = Q ? base * std::max(ps ? ps[h] : 1.0f, 0.01f) : 0.0;
                std::vector<double> dq(static_cast<size_t>(T * Dh), 0.0), dk(dq.size(), 0.0), dv(dq.size(), 0.0);
                for (int64_t i = 0; i < T; ++i) {
                  std::vector<double> s(static_cast<size_t>(T)), ph(s.size()), dp(s.size());
                  double mx = -1e300, sum = 0;
                  for (int64_t t = 0; t < T; ++t) {
                    double acc = 0;
                    for (int64_t j = 0; j < Dh; ++j) acc += at(hat, b, i, 0, h, j) * at(hat, b, t, 1, h, j);
                    s[static_cast<size_t>(t)] = acc * scale;
                    mx = std::max(mx, s[static_cast<size_t>(t)]);
                  }
                  for (auto& x : s) sum += (x = std::exp(x - mx));
                  const float* pr = &p[static_cast<size_t>(((b * H + h) * T + i) * T)];
                  for (int64_t t = 0; t < T; ++t) {
                    // (float scores of up to ~40 against double ones: a few ulps of the exponent)
                    ASSERT_NEAR(pr[t], s[static_cast<size_t>(t)] / sum, 3e-6) << "probs b" << b << " h" << h << " i" << i;
                    // p̂ from the kernel's own p: a code at a rounding boundary is not a disagreement
                    double c = Q ? std::nearbyint(static_cast<double>(pr[t] / static_cast<float>(alpha))) : 0.0;
                    c = std::min<double>(std::max(c, 0.0), Q);
                    ph[static_cast<size_t>(t)] = Q ? alpha * c : pr[t];
                  }
                  for (int64_t j = 0; j < Dh; ++j) {
                    double acc = 0;
                    for (int64_t t = 0; t < T; ++t) acc += ph[static_cast<size_t>(t)] * at(hat, b, t, 2, h, j);
                    const float got = o[static_cast<size_t>((b * T + i) * D + h * Dh + j)];
                    ASSERT_NEAR(got, acc, 1e-5 * (1 + std::fabs(acc))) << "out b" << b << " i" << i << " j" << j;
                  }
                  const float* go = &dout[static_cast<size_t>((b * T + i) * D + h * Dh)];
                  double pdp = 0;
                  for (int64_t t = 0; t < T; ++t) {
                    double acc = 0;
                    for (int64_t j = 0; j < Dh; ++j) {
                      acc += go[j] * at(hat, b, t, 2, h, j);
                      dv[static_cast<size_t>(t * Dh + j)] += ph[static_cast<size_t>(t)] * go[j];
                    }
                    dp[static_cast<size_t>(t)] = acc;
                    pdp += pr[t] * acc;
                    if (Q && ps && ps[h] > 0.01f) {
                      const double r = pr[t] / alpha;
                      dps_ref[static_cast<size_t>(h)] += acc * (r > Q ? Q : ph[static_cast<size_t>(t)] / alpha - r) * base;
                    }
                  }
                  for (int64_t t = 0; t < T; ++t) {
                    const double ds = pr[t] * (dp[static_cast<size_t>(t)] - pdp) * scale;
                    for (int64_t j = 0; j < Dh; ++j) {
                      dq[static_cast<size_t>(i * Dh + j)] += ds * at(hat, b, t, 1, h, j);
                      dk[static_cast<size_t>(t * Dh + j)] += ds * at(hat, b, i, 0, h, j);
                    }
                  }
                }
                for (int64_t t = 0; t < T; ++t)
                  for (int64_t j = 0; j < Dh; ++j)
                    for (int which = 0; which < 3; ++which) {
                      const double want = (which == 0 ? dq : which == 1 ? dk : dv)[static_cast<size_t>(t * Dh + j)];
                      // (a saturated row's p (dp − Σ p dp) cancels: float against double to 1e-4)
                      ASSERT_NEAR(at(d, b, t, which, h, j), want, 1e-4 * (1 + std::fabs(want)))
                          << "dqkv b" << b << " t" << t << " part " << which << " h" << h << " j" << j;
                    }
              }
            for (int64_t h = 0; h < H; ++h)
              EXPECT_NEAR(dps[static_cast<size_t>(h)], dps_ref[static_cast<size_t>(h)],
                          1e-4 * (1 + std::fabs(dps_ref[static_cast<size_t>(h)])));
            auto& first = dps_first[isa_name(active_isa())];
            if (first.empty()) first = dps;
            EXPECT_EQ(dps, first);  // on one ISA path, the same floats whatever the thread count
          });
        }
        set_num_threads(0);
      }
}

INSTANTIATE_TEST_SUITE_P(OddShapes, QuantisedAttention,
                         ::testing::Values(std::make_tuple(1, 1, 1, 1), std::make_tuple(1, 3, 2, 5),
                                           std::make_tuple(2, 17, 3, 16), std::make_tuple(2, 50, 4, 16)));

TEST(QuantisedAttention, ProbabilityBaseStepIsTheUniformStepOrTwiceTheUniformWeight) {
  EXPECT_FLOAT_EQ(attn_prob_base_step(ActFormat::kBinary, 50), 0.04f);      // 2 / T below 1 / 1
  EXPECT_FLOAT_EQ(attn_prob_base_step(ActFormat::kInt8, 50), 1.0f / 255);  // the [0, 1] grid is finer
  EXPECT_FLOAT_EQ(attn_prob_base_step(ActFormat::kInt2, 4), 1.0f / 3);     // few tokens: the grid
  // A binary map keeps the probabilities above the uniform weight 1/T: one
  // dominant token of 4 gives codes {1, 0, 0, 0}, the output that token's v̂.
  const int64_t T = 4, Dh = 2, D = Dh;
  std::vector<float> qkv(static_cast<size_t>(T * 3 * D), 0.0f), out(static_cast<size_t>(T * D));
  for (int64_t t = 0; t < T; ++t) {
    float* r = &qkv[static_cast<size_t>(t * 3 * D)];
    r[0] = 4.0f;                      // q
    r[D] = t == 0 ? 4.0f : -4.0f;     // k: token 0 dominates every row
    r[2 * D] = static_cast<float>(t + 1);  // v channel 0: 1, 2, 3, 4
    r[2 * D + 1] = -static_cast<float>(t + 1);
  }
  attention_quant_forward(qkv.data(), AttnQuant{ActFormat::kF32, ActFormat::kBinary, ActScale::kAbsMax}, nullptr,
                          nullptr, nullptr, out.data(), 1, T, 1, Dh, 1.0f);
  // α = min(1, 2/4) = 0.5; v channel steps mean|v| = 2.5, codes ±1: out = α · 2.5 · (±1) for token 0's code.
  for (int64_t i = 0; i < T; ++i) {
    EXPECT_FLOAT_EQ(out[static_cast<size_t>(i * D)], 0.5f * 2.5f);
    EXPECT_FLOAT_EQ(out[static_cast<size_t>(i * D + 1)], -0.5f * 2.5f);
  }
}

TEST(LayerOps, LayerNormAndGeluMatchDoubleLoopsUnderEveryIsa) {
  const int64_t N = 130, D = 37;  // more than two row chunks, D odd
  auto x = randn(static_cast<size_t>(N * D), 21, 2.0), w = randn(D, 22), b = randn(D, 23), g = randn(x.size(), 24);
  std::vector<double> ln(x.size()), dx(x.size()), dw(D, 0), db(D, 0);
  for (int64_t n = 0; n < N; ++n) {
    double mean = 0, var = 0;
    for (int64_t d = 0; d < D; ++d) mean += x[n * D + d];
    mean /= D;
    for (int64_t d = 0; d < D; ++d) var += (x[n * D + d] - mean) * (x[n * D + d] - mean);
    const double rstd = 1 / std::sqrt(var / D + 1e-5);
    double gm = 0, gxm = 0;
    for (int64_t d = 0; d < D; ++d) {
      const double xhat = (x[n * D + d] - mean) * rstd;
      ln[n * D + d] = xhat * w[d] + b[d];
      gm += g[n * D + d] * w[d];
      gxm += g[n * D + d] * w[d] * xhat;
      dw[d] += g[n * D + d] * xhat;
      db[d] += g[n * D + d];
    }
    for (int64_t d = 0; d < D; ++d) {
      const double xhat = (x[n * D + d] - mean) * rstd;
      dx[n * D + d] = rstd * (g[n * D + d] * w[d] - gm / D - xhat * gxm / D);
    }
  }
  for_each_isa([&] {
    std::vector<float> out(x.size()), mean(N), rstd(N), gx(x.size(), 0.0f), gw(D, 0.0f), gb(D, 0.0f);
    layernorm_forward(x.data(), w.data(), b.data(), out.data(), N, D, 1e-5f, mean.data(), rstd.data());
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ln[i], 1e-5 * (1 + std::fabs(ln[i])));
    layernorm_backward(g.data(), x.data(), w.data(), mean.data(), rstd.data(), gx.data(), gw.data(), gb.data(), N, D);
    for (size_t i = 0; i < gx.size(); ++i) ASSERT_NEAR(gx[i], dx[i], 1e-4 * (1 + std::fabs(dx[i])));
    for (int64_t d = 0; d < D; ++d) {
      EXPECT_NEAR(gw[d], dw[d], 1e-4 * (1 + std::fabs(dw[d])));
      EXPECT_NEAR(gb[d], db[d], 1e-4 * (1 + std::fabs(db[d])));
    }
    std::vector<float> y(x.size()), dy(x.size());
    gelu_forward(x.data(), y.data(), static_cast<int64_t>(x.size()));
    gelu_backward(x.data(), g.data(), dy.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i], cdf = 0.5 * (1 + std::erf(v / std::sqrt(2.0)));
      const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
      ASSERT_NEAR(y[i], v * cdf, 1e-6 * (1 + std::fabs(v)));
      ASSERT_NEAR(dy[i], g[i] * (cdf + v * pdf), 1e-6 * (1 + std::fabs(g[i])));
    }
  });
}

TEST(LayerOps, LayerNormParameterGradientsIgnoreThreadCount) {
  const int64_t N = 700, D = 64;
  auto x = randn(static_cast<size_t>(N * D), 31), w = randn(D, 32), b = randn(D, 33), g = randn(x.size(), 34);
  std::vector<float> out(x.size()), mean(N), rstd(N);
  layernorm_forward(x.data(), w.data(), b.data(), out.data(), N, D, 1e-5f, mean.data(), rstd.data());
  std::vector<std::vector<float>> gws;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> gx(x.size(), 0.0f), gw(D, 0.0f), gb(D, 0.0f);
    layernorm_backward(g.data(), x.data(), w.data(), mean.data(), rstd.data(), gx.data(), gw.data(), gb.data(), N, D);
    gws.push_back(gw);
  }
  set_num_threads(0);
  EXPECT_EQ(gws[0], gws[1]);
}

// ---- The integer nonlinearities (int_ops.hpp) ----

TEST(IntOps, Exp2TableIsWithinItsStatedError) {
  // 2^(-z/256) in Q15: relative error ≤ 2^-14 from the two tables' rounding
  // (hi ≥ 2^14 and lo ≥ 2^14.9 each off by ≤ 1/2, their product rounded),
  // plus one unit of the shifted result (the shift truncates).
  for (int64_t z = 0; z < 15 * 256; ++z) {
    const double exact = 32768.0 * std::exp2(-static_cast<double>(z) / 256.0);
    EXPECT_NEAR(int_exp2_neg(z), exact, exact * std::exp2(-14) + 1.0) << z;
  }
  EXPECT_EQ(int_exp2_neg(0), 32768);
  EXPECT_EQ(int_exp2_neg(15 * 256), 0);  // below 2^-15 of the maximum: 0
  EXPECT_EQ(int_exp2_neg(int64_t{1} << 40), 0);
}

// Scores of one row: random, or extreme (all equal, one dominant, the int32
// range a Dh = 64 A8 row reaches).
std::vector<int32_t> score_row(int64_t T, int kind, Rng& r) {
  std::vector<int32_t> acc(static_cast<size_t>(T));
  for (auto& a : acc) {
    switch (kind) {
      case 0: a = static_cast<int32_t>(r.normal() * 3000); break;
      case 1: a = 777; break;
      default: a = static_cast<int32_t>((r.uniform() * 2 - 1) * 64 * 128 * 128); break;
    }
  }
  if (kind == 1 && T > 1) acc[static_cast<size_t>(T / 2)] = 64 * 128 * 128;
  return acc;
}

TEST(IntOps, SoftmaxEqualsTheReferenceBitForBitOnEveryPath) {
  Rng r(42);
  for_each_isa([&] {
    for (int64_t T : {1, 2, 3, 15, 17, 50, 197}) {
      for (int kind = 0; kind < 3; ++kind)
        for (int Q : {1, 3, 15, 127, 255})
          for (float alpha : {1.0f / 255, 2.0f / 50 * 0.01f, 0.5f}) {
            const auto acc = score_row(T, kind, r);
            const float m = static_cast<float>(std::exp2(r.uniform() * 12 - 16));
            std::vector<uint8_t> c(static_cast<size_t>(T)), cr(c.size());
            std::vector<float> p(c.size()), pr(c.size());
            int_softmax_row(acc.data(), T, m, alpha, Q, c.data(), p.data());
            int_softmax_row_reference(acc.data(), T, m, alpha, Q, cr.data(), pr.data());
            ASSERT_EQ(c, cr) << "T " << T << " kind " << kind << " Q " << Q;
            ASSERT_EQ(p, pr);
          }
    }
  });
}

// A head's rows in one call (the inference attention's route: padded
// strides, a scale per row) against the reference row by row.
TEST(IntOps, SoftmaxRowsEqualTheReferenceRowByRowOnEveryPath) {
  Rng r(49);
  for_each_isa([&] {
    for (int64_t T : {1, 2, 15, 16, 17, 32, 48, 50, 197})
      for (int Q : {1, 255}) {
        const int64_t rows = 8, lda = T + 13, ldc = T + 3;
        std::vector<int32_t> acc(static_cast<size_t>(rows * lda), -5);
        std::vector<float> m(static_cast<size_t>(rows));
        for (int64_t i = 0; i < rows; ++i) {
          auto row = score_row(T, static_cast<int>(i % 3), r);
          if (i == 7)  // a row spanning more than 2^31: max − acc does not fit a signed int32
            for (int64_t t = 0; t < T; ++t) row[static_cast<size_t>(t)] = t % 2 ? INT32_MAX - t : INT32_MIN + t;
          std::copy(row.begin(), row.end(), acc.begin() + i * lda);
          m[static_cast<size_t>(i)] = static_cast<float>(std::exp2(r.uniform() * 12 - 16));
        }
        const float alpha = 1.0f / static_cast<float>(Q);
        std::vector<uint8_t> c(static_cast<size_t>(rows * ldc), 77);
        int_softmax_rows(acc.data(), rows, T, lda, m.data(), alpha, Q, c.data(), ldc);
        for (int64_t i = 0; i < rows; ++i) {
          std::vector<uint8_t> cr(static_cast<size_t>(T));
          int_softmax_row_reference(acc.data() + i * lda, T, m[static_cast<size_t>(i)], alpha, Q, cr.data(), nullptr);
          ASSERT_EQ(std::vector<uint8_t>(c.begin() + i * ldc, c.begin() + i * ldc + T), cr) << "T " << T << " row " << i;
          for (int64_t t = T; t < ldc; ++t) ASSERT_EQ(c[static_cast<size_t>(i * ldc + t)], 77);  // untouched
        }
      }
  });
}

TEST(IntOps, SoftmaxIsWithinItsStatedErrorOfTheFloatSoftmax) {
  // z is rounded to 2^-9 in log2 units (0.14 %), the tables to 2^-14, the
  // shift truncates to 2^-15 of the maximum: each e within 0.16 % + 1 unit,
  // p = e / Σe within about twice that; the codes within half a step of p/α
  // plus that error.
  Rng r(43);
  for (int64_t T : {1, 2, 17, 50, 197})
    for (int trial = 0; trial < 20; ++trial) {
      const auto acc = score_row(T, trial % 2, r);
      const float m = 1.0f / 3000;
      std::vector<double> ex(static_cast<size_t>(T));
      double mx = -1e300, sum = 0;
      for (int64_t t = 0; t < T; ++t) mx = std::max(mx, acc[static_cast<size_t>(t)] * double(m));
      for (int64_t t = 0; t < T; ++t) sum += ex[static_cast<size_t>(t)] = std::exp(acc[static_cast<size_t>(t)] * double(m) - mx);
      const float alpha = 1.0f / 255;
      std::vector<uint8_t> c(static_cast<size_t>(T));
      std::vector<float> p(c.size());
      int_softmax_row(acc.data(), T, m, alpha, 255, c.data(), p.data());
      for (int64_t t = 0; t < T; ++t) {
        const double pe = ex[static_cast<size_t>(t)] / sum;
        const double tol = 0.004 * pe + 2.0 * T / 32768.0 * pe + 1.0 / 32768.0;
        EXPECT_NEAR(p[static_cast<size_t>(t)], pe, tol) << "T " << T << " t " << t;
        EXPECT_NEAR(c[static_cast<size_t>(t)], std::min(255.0, pe / alpha), 0.5 + tol / alpha + 1e-6);
      }
    }
}

// Rows of fc1-like outputs: random, all zero, one spike, tiny.
std::vector<float> gelu_rows(int64_t M, int64_t K, Rng& r) {
  std::vector<float> x(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      float& v = x[static_cast<size_t>(m * K + k)];
      switch (m % 4) {
        case 0: v = static_cast<float>(r.normal() * 2); break;
        case 1: v = 0; break;
        case 2: v = k == K / 2 ? 60.0f : static_cast<float>(r.normal() * 0.1); break;
        default: v = static_cast<float>(r.normal() * 1e-4); break;
      }
    }
  return x;
}

TEST(IntOps, GeluEqualsTheReferenceBitForBitOnEveryPath) {
  Rng r(44);
  for_each_isa([&] {
    for (int64_t K : {1, 2, 15, 17, 64, 384, 1000})
      for (ActFormat out : {ActFormat::kInt8, ActFormat::kInt4, ActFormat::kInt2, ActFormat::kF32}) {
        const int64_t M = 9, ld = bit_padded_k(K);
        const auto x = gelu_rows(M, K, r);
        std::vector<int8_t> codes(static_cast<size_t>(M * ld), 99);
        std::vector<float> step(M), y(x.size());
        std::vector<int32_t> sum(M);
        int_gelu_rows(x.data(), M, K, out, ld, codes.data(), step.data(), sum.data(), y.data());
        for (int64_t m = 0; m < M; ++m) {
          std::vector<int8_t> cr(static_cast<size_t>(K));
          std::vector<float> yr(static_cast<size_t>(K));
          float sr = 0;
          int32_t sumr = 0;
          int_gelu_row_reference(x.data() + m * K, K, out, cr.data(), &sr, &sumr, yr.data());
          ASSERT_EQ(std::vector<float>(y.begin() + m * K, y.begin() + (m + 1) * K), yr) << "K " << K << " row " << m;
          if (out == ActFormat::kF32) continue;  // no codes: y = g · s / 2^15
          ASSERT_EQ(std::vector<int8_t>(codes.begin() + m * ld, codes.begin() + m * ld + K), cr) << "K " << K << " row " << m;
          for (int64_t k = K; k < ld; ++k) ASSERT_EQ(codes[static_cast<size_t>(m * ld + k)], 0);
          ASSERT_EQ(step[static_cast<size_t>(m)], sr);
          ASSERT_EQ(sum[static_cast<size_t>(m)], sumr);
          for (int64_t k = 0; k < K; ++k) ASSERT_EQ(y[static_cast<size_t>(m * K + k)], cr[static_cast<size_t>(k)] * sr);
        }
      }
  });
}

TEST(IntOps, GeluIsWithinItsStatedErrorOfTheSigmoidGelu) {
  // Input codes at A8 (error ≤ s/2, times GELU's slope ≤ 1.13), σ from a
  // table over u rounded to 2^-7 in log2 units (≤ 0.0014 in σ, times |x|),
  // output codes (≤ half an output step).
  Rng r(45);
  const int64_t M = 8, K = 384;
  const auto x = gelu_rows(M, K, r);
  std::vector<int8_t> codes(static_cast<size_t>(M * K));
  std::vector<float> step(M), y(x.size());
  std::vector<int32_t> sum(M);
  std::vector<float> yf(x.size());  // fp32 out: no output rounding
  int_gelu_rows(x.data(), M, K, ActFormat::kInt8, K, codes.data(), step.data(), sum.data(), y.data());
  int_gelu_rows(x.data(), M, K, ActFormat::kF32, K, nullptr, nullptr, nullptr, yf.data());
  for (int64_t m = 0; m < M; ++m) {
    float mx = 0;
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, std::fabs(x[static_cast<size_t>(m * K + k)]));
    const float s_in = mx / 127;
    for (int64_t k = 0; k < K; ++k) {
      const float v = x[static_cast<size_t>(m * K + k)];
      const double tol = 0.57 * s_in + 0.0015 * std::fabs(v) + 0.5 * step[static_cast<size_t>(m)] + 1e-7;
      EXPECT_NEAR(y[static_cast<size_t>(m * K + k)], sigmoid_gelu(v), tol) << "row " << m << " k " << k;
      EXPECT_NEAR(yf[static_cast<size_t>(m * K + k)], sigmoid_gelu(v), tol - 0.5 * step[static_cast<size_t>(m)]);
    }
  }
  // Its gradient is the derivative of x·σ(1.702x).
  for (float v : {-3.0f, -0.5f, 0.0f, 0.7f, 2.5f})
    EXPECT_NEAR(sigmoid_gelu_grad(v), (sigmoid_gelu(v + 1e-3f) - sigmoid_gelu(v - 1e-3f)) / 2e-3f, 2e-3);
}

TEST(IntAttention, DotEqualsTheReferenceOnOddShapesAndExtremeCodesOnEveryPath) {
  Rng r(46);
  std::set<std::string> paths;
  for_each_isa([&] {
    paths.insert(int_dot_path());
    for (int64_t M : {1, 2, 5, 50})
      for (int64_t N : {1, 3, 16, 17, 50})
        for (int64_t K : {1, 3, 4, 16, 17, 64, 197})
          for (int extreme = 0; extreme < 2; ++extreme) {
            std::vector<uint8_t> a(static_cast<size_t>(M * K));
            std::vector<int8_t> b(static_cast<size_t>(N * K));
            for (auto& v : a) v = extreme ? 255 : static_cast<uint8_t>(r.uniform() * 256);
            for (size_t i = 0; i < b.size(); ++i) b[i] = extreme ? (i % 2 ? 127 : -128) : static_cast<int8_t>(r.uniform() * 256 - 128);
            std::vector<int32_t> got(static_cast<size_t>(M * N)), want(got.size());
            int_dot_u8s8(a.data(), b.data(), M, N, K, got.data());
            for (int64_t m = 0; m < M; ++m)
              for (int64_t n = 0; n < N; ++n) {
                int32_t s = 0;
                for (int64_t k = 0; k < K; ++k) s += a[static_cast<size_t>(m * K + k)] * b[static_cast<size_t>(n * K + k)];
                want[static_cast<size_t>(m * N + n)] = s;
              }
            ASSERT_EQ(got, want) << int_dot_path() << " M " << M << " N " << N << " K " << K;
          }
  });
  std::string list;
  for (const auto& n : paths) list += " " + n;
  std::printf("[isa] int_dot paths exercised:%s\n", list.c_str());
  if (cpu_features().avx512vnni && active_isa() == Isa::kAvx512) {
    EXPECT_TRUE(paths.count("avx512-vnni"));
  }
}

// The inference route (no probabilities asked for) against the training
// loops of attention_quant_forward, bit for bit, on odd T and Dh.
TEST(IntAttention, InferenceEqualsTheTrainingLoopsBitForBitOnEveryPath) {
  Rng r(47);
  for_each_isa([&] {
    for (auto [qk, pv] : {std::pair{ActFormat::kInt8, ActFormat::kInt8}, std::pair{ActFormat::kInt4, ActFormat::kInt2},
                          std::pair{ActFormat::kBinary, ActFormat::kBinary}})
      for (ActScale rule : {ActScale::kAbsMax, ActScale::kAbsMean})
        for (int64_t T : {1, 2, 17, 50})
          for (int64_t Dh : {1, 3, 16, 17, 64}) {
            const int64_t B = 2, H = 2;
            const auto qkv = randn(static_cast<size_t>(B * T * 3 * H * Dh), 48 + T + Dh, 2.0);
            const std::vector<float> prob_scale = {0.7f, 1.9f};
            const AttnQuant aq{qk, pv, rule, true};
            ASSERT_TRUE(int_attention_serves(aq));
            const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
            std::vector<float> fast(static_cast<size_t>(B * T * H * Dh)), loops(fast.size());
            std::vector<float> probs(static_cast<size_t>(B * H * T * T));
            for (const float* ps : {static_cast<const float*>(nullptr), prob_scale.data()}) {
              attention_quant_forward(qkv.data(), aq, ps, nullptr, nullptr, fast.data(), B, T, H, Dh, scale);
              attention_quant_forward(qkv.data(), aq, ps, probs.data(), nullptr, loops.data(), B, T, H, Dh, scale);
              ASSERT_EQ(fast, loops) << "T " << T << " Dh " << Dh << " " << act_traits(qk).name;
            }
          }
  });
  (void)r;
}

TEST(IntOps, SoftmaxRefusesAProbabilityStepThatIsNotPositive) {
  const std::vector<int32_t> acc = {1, 2, 3};
  std::vector<uint8_t> c(3);
  for (float alpha : {0.0f, -0.5f, std::nanf("")}) {
    EXPECT_THROW(int_softmax_row(acc.data(), 3, 0.01f, alpha, 255, c.data(), nullptr), Error);
    EXPECT_THROW(int_softmax_row_reference(acc.data(), 3, 0.01f, alpha, 255, c.data(), nullptr), Error);
  }
}

TEST(IntOps, GeluRefusesABinaryFormatAndSaysWhatItHandsEachLinear) {
  std::vector<float> x(4, 1.0f), step(1), y(4);
  std::vector<int8_t> c(4);
  std::vector<int32_t> sum(1);
  EXPECT_THROW(int_gelu_rows(x.data(), 1, 4, ActFormat::kBinary, 4, c.data(), step.data(), sum.data(), y.data()), Error);
  EXPECT_EQ(int_gelu_out_format(ActFormat::kInt8, false), ActFormat::kInt8);
  EXPECT_EQ(int_gelu_out_format(ActFormat::kInt8, true), ActFormat::kF32);  // SubLN normalises first
  EXPECT_EQ(int_gelu_out_format(ActFormat::kBinary, false), ActFormat::kF32);
}

// ---- The integer LayerNorm (int_layernorm.hpp) ----

// Rows a residual stream holds, and the ones that break naive arithmetic.
std::vector<float> norm_row(int64_t D, int kind, Rng& r) {
  std::vector<float> x(static_cast<size_t>(D));
  const double scale = std::exp2(r.uniform() * 16 - 8), offset = r.normal() * scale;
  for (auto& v : x) v = static_cast<float>(offset + scale * r.normal());
  switch (kind) {
    case 1: x[static_cast<size_t>(D / 2)] *= 100; break;  // an outlier channel (as DeiT's)
    case 2: std::fill(x.begin(), x.end(), 3.25f); break;  // zero variance
    case 3: std::fill(x.begin(), x.end(), 0.0f); break;
    case 4: for (auto& v : x) v *= 1e-37f; break;  // max|x| below 2^−100: read as zeros
    case 5: x[0] = std::nanf(""); break;
    case 6: for (auto& v : x) v = static_cast<float>(r.normal() * 3e30); break;  // near float's range
    default: break;
  }
  return x;
}

TEST(IntLayerNorm, IntegerSquareRootIsTheFloorOfTheRoot) {
  for (uint64_t v = 0; v < (1u << 18); ++v) {
    const uint64_t s = isqrt_u64(v);
    ASSERT_TRUE(s * s <= v && (s + 1) * (s + 1) > v) << v;
  }
  Rng r(5);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t v = r.next_u64() >> (r.next_u64() % 64), s = isqrt_u64(v);
    ASSERT_LE(s, 0xffffffffull);
    ASSERT_TRUE(s * s <= v && (s == 0xffffffffull || (s + 1) * (s + 1) > v)) << v;
  }
  EXPECT_EQ(isqrt_u64(UINT64_MAX), 0xffffffffull);
  EXPECT_EQ(isqrt_u64((uint64_t{1} << 62) - 1), (uint64_t{1} << 31) - 1);
}

TEST(IntLayerNorm, EqualsTheReferenceBitForBitOnEveryPath) {
  Rng r(61);
  for_each_isa([&] {
    for (int64_t D : {1, 2, 15, 16, 17, 31, 64, 65, 192, 768, 2048})
      for (bool subln : {false, true})
        for (ActFormat f : {ActFormat::kInt8, ActFormat::kInt4, ActFormat::kInt2}) {
          const int64_t M = 37;  // crosses the row chunks
          std::vector<float> x, g(static_cast<size_t>(D)), b(static_cast<size_t>(D));
          for (int64_t m = 0; m < M; ++m) {
            const auto row = norm_row(D, static_cast<int>(m % 8), r);
            x.insert(x.end(), row.begin(), row.end());
          }
          for (int64_t i = 0; i < D; ++i) {  // some γ exactly 0, β from 0 to past γ's scale
            g[static_cast<size_t>(i)] = i % 7 == 3 ? 0.0f : static_cast<float>(1 + 0.3 * r.normal());
            b[static_cast<size_t>(i)] = static_cast<float>(r.normal() * (i % 2 ? 2.0 : 0.0));
          }
          BitActs acts;
          std::vector<float> xq(static_cast<size_t>(M * D));
          int_layernorm_acts(x.data(), g.data(), b.data(), M, D, subln, f, acts, xq.data());
          ASSERT_EQ(acts.Kp, bit_padded_k(D));
          const IntLnAffine a = int_ln_affine(g.data(), b.data(), D);
          const int Q = act_traits(f).qmax;
          for (int64_t m = 0; m < M; ++m) {
            SCOPED_TRACE("D " + std::to_string(D) + (subln ? " subln " : " ") + act_traits(f).name + " row " +
                         std::to_string(m));
            std::vector<int8_t> want(static_cast<size_t>(D));
            float step = -1;
            int32_t sum = -1;
            int_layernorm_row_reference(x.data() + m * D, a, D, subln, Q, want.data(), &step, &sum);
            const int8_t* got = acts.row(m);
            ASSERT_EQ(std::vector<int8_t>(got, got + D), want);
            for (int64_t k = D; k < acts.Kp; ++k) ASSERT_EQ(got[k], 0);
            ASSERT_EQ(acts.mul[static_cast<size_t>(m)], step);
            ASSERT_EQ(acts.sum[static_cast<size_t>(m)], sum);
            for (int64_t k = 0; k < D; ++k) ASSERT_EQ(xq[static_cast<size_t>(m * D + k)], float(want[static_cast<size_t>(k)]) * step);
            const int kind = static_cast<int>(m % 8);
            if (kind == 5) {  // not finite: codes 0
              ASSERT_EQ(*std::max_element(want.begin(), want.end()), 0);
              ASSERT_EQ(*std::min_element(want.begin(), want.end()), 0);
            } else if (kind == 3 || kind == 4) {  // zeros, or below 2^−100: normalised to 0, as a constant row (y = β)
              const int64_t constant = m - (kind - 2);
              ASSERT_EQ(std::vector<int8_t>(got, got + D), std::vector<int8_t>(acts.row(constant), acts.row(constant) + D));
              ASSERT_EQ(acts.mul[static_cast<size_t>(m)], acts.mul[static_cast<size_t>(constant)]);
            } else if (D > 2 && kind != 2) {  // the absmax rule: the largest reaches ±Q
              ASSERT_TRUE(*std::max_element(want.begin(), want.end()) == Q ||
                          *std::min_element(want.begin(), want.end()) == -Q);
            }
          }
        }
  });
}

// Against the float pipeline it stands for (LayerNorm with affine weights,
// SubLN, the absmax quantiser): every code within one, most equal, the step
// within 2^−8 relative. The float LayerNorms run without eps here: the
// integer one has none (its rows' scale cancels), which moves a row whose
// variance is within ~100× of eps by more than that.
TEST(IntLayerNorm, IsWithinItsStatedErrorOfTheFloatPipeline) {
  Rng r(67);
  for (int64_t D : {16, 64, 192, 768})
    for (bool subln : {false, true}) {
      const int64_t M = 64;
      std::vector<float> x, g(static_cast<size_t>(D)), b(static_cast<size_t>(D)), ln(static_cast<size_t>(M * D)),
          sub(static_cast<size_t>(M * D));
      for (int64_t m = 0; m < M; ++m) {
        const auto row = norm_row(D, m % 2, r);  // plain rows and outlier rows
        x.insert(x.end(), row.begin(), row.end());
      }
      for (int64_t i = 0; i < D; ++i) {
        g[static_cast<size_t>(i)] = static_cast<float>(1 + 0.5 * r.normal());
        b[static_cast<size_t>(i)] = static_cast<float>(0.3 * r.normal());
      }
      layernorm_rows(x.data(), g.data(), b.data(), ln.data(), M, D, 0.0f, nullptr, nullptr);
      const float* src = ln.data();
      if (subln) {
        layernorm_rows(ln.data(), nullptr, nullptr, sub.data(), M, D, 0.0f, nullptr, nullptr);
        src = sub.data();
      }
      BitActs want, got;
      quantize_acts(src, M, D, ActFormat::kInt8, want);
      int_layernorm_acts(x.data(), g.data(), b.data(), M, D, subln, ActFormat::kInt8, got);
      int64_t equal = 0;
      for (int64_t m = 0; m < M; ++m) {
        for (int64_t k = 0; k < D; ++k) {
          const int dc = std::abs(int(got.row(m)[k]) - int(want.row(m)[k]));
          ASSERT_LE(dc, 1) << "D " << D << " row " << m << " k " << k;
          equal += dc == 0;
        }
        const float ws = want.mul[static_cast<size_t>(m)], gs = got.mul[static_cast<size_t>(m)];
        ASSERT_LE(std::fabs(gs - ws), ws * std::exp2(-8.0f)) << "D " << D << " row " << m;
      }
      EXPECT_GE(double(equal) / double(M * D), 0.95) << "D " << D << (subln ? " subln" : "");
    }
}

TEST(IntLayerNorm, RefusesWhatItCannotHold) {
  std::vector<float> x(4096, 1.0f), g(4096, 1.0f), b(4096, 0.0f);
  BitActs acts;
  auto refused = [&](auto&& call, const std::string& says) {
    try {
      call();
      ADD_FAILURE() << "accepted; expected an error saying " << says;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  refused([&] { int_layernorm_acts(x.data(), g.data(), b.data(), 2, 16, true, ActFormat::kBinary, acts); }, "not binary");
  refused([&] { int_layernorm_acts(x.data(), g.data(), b.data(), 1, 4096, true, ActFormat::kInt8, acts); }, "1 to 2048");
  g[3] = std::numeric_limits<float>::infinity();
  refused([&] { int_layernorm_acts(x.data(), g.data(), b.data(), 2, 16, true, ActFormat::kInt8, acts); }, "not finite (entry 3)");
}

}  // namespace
}  // namespace bb
