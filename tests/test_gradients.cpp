// Gradient checks by central finite differences: each layer's backward, and the
// whole ViT (every parameter tensor) on both backends. The forward runs in
// float32, so the step is 1e-2 on unit-scale inputs and the tolerance is
// |numeric - analytic| <= 2e-3 + 3e-2 |analytic|.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/rng.hpp"
#include "kernels/backend.hpp"
#include "models/layers.hpp"
#include "models/vit.hpp"

namespace bb {
namespace {

std::vector<float> randn(size_t n, uint64_t seed, double scale = 1.0) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(scale * r.normal());
  return v;
}

// Numeric d(objective)/d(x[i]) with objective recomputed from scratch.
double numeric(std::vector<float>& x, size_t i, const std::function<double()>& objective, float h = 1e-2f) {
  float keep = x[i];
  x[i] = keep + h;
  double up = objective();
  x[i] = keep - h;
  double down = objective();
  x[i] = keep;
  return (up - down) / (2.0 * h);
}

void expect_close(double num, double ana, const std::string& what) {
  EXPECT_LE(std::fabs(num - ana), 2e-3 + 3e-2 * std::fabs(ana)) << what << ": numeric " << num << " analytic " << ana;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

TEST(Gradients, LayerNorm) {
  const int64_t N = 3, D = 7;
  auto x = randn(N * D, 1), w = randn(D, 2), b = randn(D, 3), r = randn(N * D, 4);
  std::vector<float> out(N * D), mean(N), rstd(N);
  auto f = [&] {
    layernorm_forward(x.data(), w.data(), b.data(), out.data(), N, D, 1e-5f);
    return dot(out, r);
  };
  f();
  layernorm_forward(x.data(), w.data(), b.data(), out.data(), N, D, 1e-5f, mean.data(), rstd.data());
  std::vector<float> dx(N * D, 0), dw(D, 0), db(D, 0);
  layernorm_backward(r.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(), dw.data(), db.data(), N, D);
  for (size_t i = 0; i < x.size(); ++i) expect_close(numeric(x, i, f), dx[i], "dx");
  for (size_t i = 0; i < w.size(); ++i) expect_close(numeric(w, i, f), dw[i], "dw");
  for (size_t i = 0; i < b.size(); ++i) expect_close(numeric(b, i, f), db[i], "db");
}

TEST(Gradients, GeluAndCrossEntropy) {
  auto x = randn(20, 5, 2.0), r = randn(20, 6);
  std::vector<float> out(20), dx(20);
  auto f = [&] {
    gelu_forward(x.data(), out.data(), 20);
    return dot(out, r);
  };
  gelu_backward(x.data(), r.data(), dx.data(), 20);
  for (size_t i = 0; i < x.size(); ++i) expect_close(numeric(x, i, f), dx[i], "gelu");

  const int64_t B = 3, K = 5;
  auto logits = randn(B * K, 7);
  int labels[3] = {0, 4, 2};
  std::vector<float> probs(B * K), dl(B * K);
  float loss = cross_entropy(logits.data(), labels, probs.data(), dl.data(), B, K, 0.1f);
  EXPECT_GT(loss, 0.0f);
  auto ce = [&] { return static_cast<double>(cross_entropy(logits.data(), labels, probs.data(), nullptr, B, K, 0.1f)); };
  for (size_t i = 0; i < logits.size(); ++i) expect_close(numeric(logits, i, ce), dl[i], "cross-entropy");
}

TEST(Gradients, LinearAndAttentionOnBothBackends) {
  for (const char* name : {"reference", "onednn"}) {
    SCOPED_TRACE(name);
    auto be = make_backend(parse_model_backend(name));
    // Linear with odd sizes.
    const int64_t M = 5, N = 3, K = 7;
    auto x = randn(M * K, 8), w = randn(N * K, 9), b = randn(N, 10), r = randn(M * N, 11);
    std::vector<float> y(M * N);
    auto f = [&] {
      be->linear(x.data(), w.data(), b.data(), y.data(), M, N, K);
      return dot(y, r);
    };
    std::vector<float> dx(M * K), dw(N * K, 0), db(N, 0);
    be->linear_backward(x.data(), w.data(), r.data(), dx.data(), dw.data(), db.data(), M, N, K);
    for (size_t i = 0; i < x.size(); ++i) expect_close(numeric(x, i, f), dx[i], "linear dx");
    for (size_t i = 0; i < w.size(); ++i) expect_close(numeric(w, i, f), dw[i], "linear dw");
    for (size_t i = 0; i < b.size(); ++i) expect_close(numeric(b, i, f), db[i], "linear db");
    // Attention: B 2, T 5, H 2, Dh 3.
    const int64_t B = 2, T = 5, H = 2, Dh = 3, D = H * Dh;
    auto qkv = randn(B * T * 3 * D, 12), ro = randn(B * T * D, 13);
    std::vector<float> scores(B * H * T * T), out(B * T * D), dqkv(qkv.size()), scratch(scores.size());
    const float scale = 0.57735f;
    auto fa = [&] {
      be->attention(qkv.data(), scores.data(), out.data(), B, T, H, Dh, scale);
      return dot(out, ro);
    };
    fa();
    be->attention_backward(qkv.data(), scores.data(), ro.data(), dqkv.data(), scratch.data(), B, T, H, Dh, scale);
    for (size_t i = 0; i < qkv.size(); ++i) expect_close(numeric(qkv, i, fa), dqkv[i], "attention dqkv");
  }
}

// The low-bit students' per-channel operations (RSign shift, Bi-Real shortcut,
// RPReLU) on each shape relation a block Linear has: N = 2K (qkv/fc1-like), N
// = K (proj), N < K (fc2-like: the shortcut averages groups), and sizes that do
// not divide (7 into 3s, 5 from 3s).
TEST(Gradients, RSignShiftBiRealShortcutAndRPReLU) {
  const int64_t M = 3;
  for (const auto& nk : {std::pair<int64_t, int64_t>{6, 3}, {4, 4}, {2, 6}, {3, 7}, {5, 3}}) {
    const int64_t N = nk.first, K = nk.second;  // (lambdas below cannot capture structured bindings on every compiler)
    SCOPED_TRACE(std::to_string(N) + "x" + std::to_string(K));
    auto x = randn(M * K, 30), shift = randn(K, 31), r = randn(M * K, 32), ry = randn(M * N, 33);
    std::vector<float> out(M * K);
    auto fs = [&] {
      channel_shift_forward(x.data(), shift.data(), out.data(), M, K);
      return dot(out, r);
    };
    std::vector<float> dshift(K, 0.5f);  // accumulated into
    channel_shift_backward(r.data(), dshift.data(), M, K);
    for (size_t i = 0; i < shift.size(); ++i) expect_close(numeric(shift, i, fs), dshift[i] - 0.5, "shift");

    auto y0 = randn(M * N, 34);
    std::vector<float> y(M * N);
    auto fb = [&] {
      y = y0;
      bireal_shortcut_forward(x.data(), y.data(), M, N, K);
      return dot(y, ry);
    };
    std::vector<float> dx(M * K, 0.0f);
    bireal_shortcut_backward(ry.data(), dx.data(), M, N, K);
    for (size_t i = 0; i < x.size(); ++i) expect_close(numeric(x, i, fb), dx[i], "bireal dx");

    auto gamma = randn(N, 35), beta = randn(N, 36, 0.5), zeta = randn(N, 37);
    auto yin = randn(M * N, 38, 2.0);
    std::vector<float> z(M * N);
    auto fr = [&] {
      y = yin;
      rprelu_forward(y.data(), gamma.data(), beta.data(), zeta.data(), nullptr, M, N);
      return dot(y, ry);
    };
    y = yin;
    rprelu_forward(y.data(), gamma.data(), beta.data(), zeta.data(), z.data(), M, N);
    std::vector<float> dy(M * N), dg(N, 0.0f), dbeta(N, 0.0f), dz(N, 0.0f);
    rprelu_backward(ry.data(), z.data(), beta.data(), dy.data(), dg.data(), dbeta.data(), dz.data(), M, N);
    for (size_t i = 0; i < yin.size(); ++i) expect_close(numeric(yin, i, fr, 1e-3f), dy[i], "rprelu dy");
    for (size_t i = 0; i < gamma.size(); ++i) expect_close(numeric(gamma, i, fr, 1e-3f), dg[i], "rprelu dgamma");
    for (size_t i = 0; i < beta.size(); ++i) expect_close(numeric(beta, i, fr, 1e-3f), dbeta[i], "rprelu dbeta");
    for (size_t i = 0; i < zeta.size(); ++i) expect_close(numeric(zeta, i, fr, 1e-3f), dz[i], "rprelu dzeta");
  }
}

// The whole model: loss = cross-entropy of the forward; a few entries of every tensor checked.
void check_model(const ViTConfig& c, const char* backend) {
  ViTParams p(c);
  Rng r(21);
  for (int64_t i = 0; i < p.count(); ++i) p.flat[i] = static_cast<float>(0.2 * r.normal());
  auto be = make_backend(parse_model_backend(backend));
  ViTRunner run(p, *be, /*training=*/true);
  const int64_t B = 2;
  Tensor x(Shape{B, c.in_chans, c.img_size, c.img_size});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  int labels[2] = {1, 3};
  std::vector<float> probs(B * c.num_classes), dl(B * c.num_classes);
  auto loss = [&] {
    TensorView l = run.forward(x.view());
    return static_cast<double>(cross_entropy(l.data(), labels, probs.data(), nullptr, B, c.num_classes, 0.0f));
  };
  TensorView l = run.forward(x.view());
  cross_entropy(l.data(), labels, probs.data(), dl.data(), B, c.num_classes, 0.0f);
  std::vector<float> grads(static_cast<size_t>(p.count()), 0.0f);
  run.backward(dl.data(), grads.data());
  // Finite differences through a vector view of the flat buffer.
  for (const ParamEntry& e : p.entries) {
    Rng pick(static_cast<uint64_t>(e.offset) + 5);
    for (int s = 0; s < 3; ++s) {
      int64_t i = e.offset + static_cast<int64_t>(pick.below(static_cast<uint64_t>(e.numel)));
      float keep = p.flat[i];
      const float h = 1e-2f;
      p.flat[i] = keep + h;
      double up = loss();
      p.flat[i] = keep - h;
      double down = loss();
      p.flat[i] = keep;
      expect_close((up - down) / (2 * h), grads[static_cast<size_t>(i)], e.name);
    }
  }
}

// An attention-map loss (the distillation objective's attn_mse term):
// loss = Σ_l mean((p_l − target_l)²) over each block's probabilities, its
// gradient handed to backward() as dattn; every tensor that feeds an attention
// map checked by finite differences (the MLP of the last block, the final norm
// and the head get none).
TEST(Gradients, AttentionMapLossThroughTheModel) {
  ViTConfig c;
  c.img_size = 8; c.patch_size = 4; c.in_chans = 1; c.embed_dim = 8; c.depth = 2; c.num_heads = 2;
  c.mlp_hidden = 12; c.num_classes = 3;
  ViTParams p(c);
  Rng r(23);
  for (int64_t i = 0; i < p.count(); ++i) p.flat[i] = static_cast<float>(0.3 * r.normal());
  const int64_t B = 2, T = c.tokens(), H = c.num_heads, n = B * H * T * T;
  Tensor x(Shape{B, c.in_chans, c.img_size, c.img_size});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  std::vector<std::vector<float>> target(static_cast<size_t>(c.depth));
  for (auto& t : target) t = randn(static_cast<size_t>(n), 29, 0.3);
  for (const char* backend : {"reference", "onednn"}) {
    SCOPED_TRACE(backend);
    auto be = make_backend(parse_model_backend(backend));
    ViTRunner run(p, *be, /*training=*/true);
    auto loss = [&] {
      run.forward(x.view());
      double s = 0;
      for (int l = 0; l < c.depth; ++l)
        for (int64_t i = 0; i < n; ++i) {
          const double d = double(run.block_probs(l)[i]) - target[static_cast<size_t>(l)][static_cast<size_t>(i)];
          s += d * d / static_cast<double>(n);
        }
      return s;
    };
    run.forward(x.view());
    std::vector<std::vector<float>> dmap(static_cast<size_t>(c.depth), std::vector<float>(static_cast<size_t>(n)));
    std::vector<const float*> ptrs;
    for (int l = 0; l < c.depth; ++l) {
      for (int64_t i = 0; i < n; ++i)
        dmap[static_cast<size_t>(l)][static_cast<size_t>(i)] = static_cast<float>(
            2.0 * (run.block_probs(l)[i] - target[static_cast<size_t>(l)][static_cast<size_t>(i)]) / static_cast<double>(n));
      ptrs.push_back(dmap[static_cast<size_t>(l)].data());
    }
    std::vector<float> dl(static_cast<size_t>(B * c.num_classes), 0.0f), grads(static_cast<size_t>(p.count()), 0.0f);
    run.backward(dl.data(), grads.data(), nullptr, nullptr, &ptrs);
    int nonzero = 0;
    for (const ParamEntry& e : p.entries) {
      Rng pick(static_cast<uint64_t>(e.offset) + 7);
      for (int s = 0; s < 3; ++s) {
        const int64_t i = e.offset + static_cast<int64_t>(pick.below(static_cast<uint64_t>(e.numel)));
        const float keep = p.flat[i];
        const float h = 1e-2f;
        p.flat[i] = keep + h;
        const double up = loss();
        p.flat[i] = keep - h;
        const double down = loss();
        p.flat[i] = keep;
        const double num = (up - down) / (2 * h);
        EXPECT_LE(std::fabs(num - grads[static_cast<size_t>(i)]), 2e-4 + 3e-2 * std::fabs(grads[static_cast<size_t>(i)]))
            << e.name << ": numeric " << num << " analytic " << grads[static_cast<size_t>(i)];
        nonzero += grads[static_cast<size_t>(i)] != 0.0f;
      }
    }
    EXPECT_GT(nonzero, 20);  // the maps do depend on the earlier tensors
  }
}

TEST(Gradients, WholeModelTokenPool) {
  ViTConfig c;
  c.img_size = 8;
  c.patch_size = 4;
  c.in_chans = 2;
  c.embed_dim = 8;
  c.depth = 2;
  c.num_heads = 2;
  c.mlp_hidden = 12;
  c.num_classes = 4;
  for (const char* b : {"reference", "onednn"}) {
    SCOPED_TRACE(b);
    check_model(c, b);
  }
}

TEST(Gradients, WholeModelAvgPoolNoQkvBias) {
  ViTConfig c;
  c.img_size = 6;
  c.patch_size = 3;
  c.in_chans = 1;
  c.embed_dim = 6;
  c.depth = 1;
  c.num_heads = 3;
  c.mlp_hidden = 10;
  c.num_classes = 5;
  c.global_pool = "avg";
  c.qkv_bias = false;
  check_model(c, "onednn");
}

}  // namespace
}  // namespace bb
