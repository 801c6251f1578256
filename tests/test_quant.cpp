// BitNet quantisers and BitLinear: hand-computed codes (ties, all-zero rows,
// the epsilon), the spec names, the PyTorch fake-quant reference logits, and
// straight-through gradients checked against a hand-derived backward.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "kernels/backend.hpp"
#include "kernels/gemm_pairs.hpp"
#include "models/checkpoint.hpp"
#include "models/int_engine.hpp"
#include "models/packed.hpp"
#include "models/quant.hpp"
#include "models/quant_plan_json.hpp"
#include "models/runnable_model.hpp"
#include "models/safetensors.hpp"
#include "models/vit.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

const std::string kRef = std::string(BITBENCH_SOURCE_DIR) + "/../shared/reference/vit_random_small/";

// Images [n, C, S, S] of seeded N(0, 1) noise.
Tensor random_images(int64_t n, int64_t C, int64_t S, uint64_t seed) {
  Tensor images(Shape{n, C, S, S});
  Rng r(seed);
  for (int64_t i = 0; i < images.numel(); ++i) images[i] = static_cast<float>(r.normal());
  return images;
}

// A DeiT-style student's shape: the tiny Fashion-MNIST preset, 2 blocks, with a distillation token.
ViTConfig tiny_distilled() {
  ViTConfig c = vit_preset("vit_fmnist_tiny_patch4_28");
  c.distilled = true;
  c.depth = 2;
  return c;
}

std::vector<float> wq_of(WeightFormat f, const std::vector<float>& w, int64_t N, int64_t K, std::vector<float>* scales = nullptr) {
  std::vector<int8_t> codes(w.size());
  std::vector<float> wq(w.size()), s(static_cast<size_t>(N));
  fake_quant_weights(weight_traits(f), w.data(), N, K, codes.data(), wq.data(), s.data());
  if (scales) *scales = s;
  return wq;
}

// The reference model's input batch [3, 3, 16, 16].
Tensor reference_input() {
  NpyArray input = read_npy(kRef + "input.npy");
  Tensor images(Shape{3, 3, 16, 16});
  std::memcpy(images.data(), input.data.data(), input.data.size() * 4);
  return images;
}

TEST(QuantSpec, NamesParseBothWaysAndBadOnesAreRefused) {
  for (const char* n : {"W1.58A8", "W1A8", "W2A8", "W4A8", "W8A8", "W1A4", "W1A2", "W1A1", "FP32", "W1.58A32", "W1.58rA8",
                        "W1.58rA2"})
    EXPECT_EQ(parse_quant_spec(n).name(), n);
  EXPECT_EQ(parse_quant_spec("w1.58a8"), parse_quant_spec("W1.58A8"));
  EXPECT_EQ(parse_quant_spec("w32a32").name(), "FP32");
  for (const char* bad : {"W3A8", "W1.58", "A8", "W1A16", "", "ternary", "W1.58xA8", "W1rA8"})
    EXPECT_THROW(parse_quant_spec(bad), Error) << bad;
  EXPECT_EQ(parse_quant_spec("w1.58ra8").w, WeightFormat::kTernaryRow);
  EXPECT_DOUBLE_EQ(weight_traits(WeightFormat::kTernary).bits, std::log2(3.0));
}

// The messages that list valid tokens list the tables' rows, every one.
TEST(QuantSpec, ErrorMessagesListEveryTokenOfTheTables) {
  std::string spec_msg, act_msg;
  try {
    parse_quant_spec("W3A8");
  } catch (const Error& e) {
    spec_msg = e.what();
  }
  try {
    parse_act_format("A3");
  } catch (const Error& e) {
    act_msg = e.what();
  }
  // The whole token (followed by ", " or " or"), not a prefix of a longer one.
  auto lists = [](const std::string& msg, const std::string& token) {
    for (size_t at = msg.find(token); at != std::string::npos; at = msg.find(token, at + 1))
      if (msg.compare(at + token.size(), 2, ", ") == 0 || msg.compare(at + token.size(), 3, " or") == 0) return true;
    return false;
  };
  for (const WeightFormatTraits& t : weight_format_rows())
    if (*t.token) {
      EXPECT_TRUE(lists(spec_msg, std::string("W") + t.token)) << t.token << ": " << spec_msg;
    }
  for (const ActFormatTraits& t : act_format_rows())
    if (*t.token) {
      EXPECT_TRUE(lists(spec_msg, std::string("A") + t.token)) << t.token << ": " << spec_msg;
      EXPECT_TRUE(lists(act_msg, std::string("A") + t.token)) << t.token << ": " << act_msg;
    }
}

// docs/CONFIG.md's format tables, as the format and pair tables write them:
// a row added to a table without its line in the doc fails here (the
// message holds the text to paste).
std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}
std::string format_tables_markdown() {
  std::string s = "| Weights | Format | Bits | Scales | File storage | Kernel layout |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const WeightFormatTraits& t : weight_format_rows())
    if (*t.token)
      s += std::string("| `W") + t.token + "` | " + t.name + " | " + num(t.bits) + " | " +
           (t.per_row ? "one per output row" : "one per matrix") + " | `" + t.storage + "`, " + num(t.storage_bits) +
           " bits | " + std::to_string(t.kernel_bits) + " bits |\n";
  s += "\n| Activations | Format | Codes | absmean κ |\n| --- | --- | --- | --- |\n";
  for (const ActFormatTraits& t : act_format_rows())
    if (*t.token)
      s += std::string("| `A") + t.token + "` | " + t.name + " | " +
           (t.no_zero ? "±1" : std::to_string(t.min_code) + "…" + std::to_string(t.max_code)) + " | " +
           (t.no_zero ? "– (mean\\|x\\|)" : num(t.absmean_step)) + " |\n";
  s += "\n| Integer kernel |";
  std::string rule = "| --- |";
  for (const ActFormatTraits& a : act_format_rows())
    if (*a.token) {
      s += std::string(" A") + a.token + " |";
      rule += " --- |";
    }
  s += "\n" + rule + "\n";
  for (const WeightFormatTraits& w : weight_format_rows()) {
    if (!*w.token) continue;
    s += std::string("| W") + w.token + " |";
    for (const ActFormatTraits& a : act_format_rows())
      if (*a.token) s += std::string(" ") + gemm_pair(w.format, a.format).traits().name + " |";
    s += "\n";
  }
  return s;
}

TEST(FormatTables, ConfigDocShowsTheTables) {
  std::ifstream f(std::string(BITBENCH_SOURCE_DIR) + "/docs/CONFIG.md");
  std::stringstream doc;
  doc << f.rdbuf();
  const std::string want = format_tables_markdown();
  EXPECT_NE(doc.str().find(want), std::string::npos) << "docs/CONFIG.md lacks the format tables as they stand:\n" << want;
}

// Every pair of quantised formats has exactly one kernel row; fp32 on either side none.
TEST(FormatTables, EveryQuantisedPairHasOneKernelRow) {
  for (const WeightFormatTraits& w : weight_format_rows())
    for (const ActFormatTraits& a : act_format_rows()) {
      int rows = 0;
      for (const GemmPairTraits& p : gemm_pairs()) rows += p.w == w.format && p.a == a.format;
      EXPECT_EQ(rows, *w.token && *a.token ? 1 : 0) << w.name << " × " << a.name;
      EXPECT_EQ(find_gemm_pair(w.format, a.format) != nullptr, rows == 1);
    }
  EXPECT_THROW(gemm_pair(WeightFormat::kTernary, ActFormat::kF32), Error);
}

TEST(WeightQuant, TernaryAbsmeanByHand) {
  // mean|W| = (0.5 + 1.5 + 0.25 + 3.75) / 4 = 1.5; W / (1.5 + 1e-5): 0.33 -> 0, -1.0 -> -1, 0.167 -> 0, 2.5 -> clip 1
  std::vector<float> s;
  auto wq = wq_of(WeightFormat::kTernary, {0.5f, -1.5f, 0.25f, 3.75f}, 2, 2, &s);
  EXPECT_FLOAT_EQ(s[0], 1.5f);
  EXPECT_EQ(wq, (std::vector<float>{0.0f, -1.5f, 0.0f, 1.5f}));
  // Ties: W / γ exactly 0.5 rounds half to even (to 0); 1.5 rounds to 2 then clips to 1.
  // W = {1, 3, -1, -3, 2, 2}: mean|W| = 2, W/(2+1e-5) just under 0.5 / 1.5 -> 0, 1 (no tie by eps)
  auto w2 = wq_of(WeightFormat::kTernary, {1, 3, -1, -3, 2, 2}, 1, 6);
  EXPECT_EQ(w2, (std::vector<float>{0, 2, 0, -2, 2, 2}));
  // All-zero matrix: γ = 0, every code 0 (eps keeps the division finite).
  auto z = wq_of(WeightFormat::kTernary, {0, 0, 0}, 1, 3);
  EXPECT_EQ(z, (std::vector<float>{0, 0, 0}));
}

TEST(WeightQuant, TernaryPerRowIsTheAbsmeanQuantiserOfEachRow) {
  // Row 0: γ = (0.5 + 1.5) / 2 = 1: 0.5 / (1 + 1e-5) just under 0.5 -> 0, -1.5 -> -2 -> clip -1.
  // Row 1: γ = (0.25 + 3.75) / 2 = 2: 0.125 -> 0, 1.875 -> 2 -> clip 1. (Per matrix, γ = 1.5 for both.)
  std::vector<float> s;
  auto wq = wq_of(WeightFormat::kTernaryRow, {0.5f, -1.5f, 0.25f, 3.75f}, 2, 2, &s);
  EXPECT_EQ(s, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(wq, (std::vector<float>{0.0f, -1.0f, 0.0f, 2.0f}));
  // On odd shapes each row equals the per-matrix quantiser run on that row alone.
  const WeightFormatTraits& row = weight_traits(WeightFormat::kTernaryRow);
  const WeightFormatTraits& mat = weight_traits(WeightFormat::kTernary);
  for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 1}, {3, 7}, {5, 33}}) {
    Rng r(static_cast<uint64_t>(N * K));
    std::vector<float> w(static_cast<size_t>(N * K));
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(r.normal() * (1.0 + static_cast<double>(i % 3)));
    std::vector<int8_t> codes(w.size()), one(static_cast<size_t>(K));
    std::vector<float> scales(static_cast<size_t>(N));
    row.codes(w.data(), N, K, codes.data(), scales.data());
    for (int64_t n = 0; n < N; ++n) {
      float g = 0;
      mat.codes(w.data() + n * K, 1, K, one.data(), &g);
      EXPECT_EQ(scales[static_cast<size_t>(n)], g) << "N " << N << " K " << K << " row " << n;
      EXPECT_TRUE(std::equal(one.begin(), one.end(), codes.begin() + n * K)) << "N " << N << " K " << K << " row " << n;
    }
  }
}

TEST(WeightQuant, BinarySignOfCentredTimesMeanAbs) {
  // mean W = 0.5, mean|W| = 1.25: W - mean = {0.5, -1.5, 2.5, -1.5} -> {+,-,+,-}; W = mean exactly -> -1
  std::vector<float> s;
  auto wq = wq_of(WeightFormat::kBinary, {1.0f, -1.0f, 3.0f, -1.0f}, 2, 2, &s);
  EXPECT_FLOAT_EQ(s[0], 1.5f);
  EXPECT_EQ(wq, (std::vector<float>{1.5f, -1.5f, 1.5f, -1.5f}));
  auto tie = wq_of(WeightFormat::kBinary, {2.0f, 2.0f}, 1, 2);
  EXPECT_EQ(tie, (std::vector<float>{-2.0f, -2.0f}));
}

TEST(WeightQuant, KbitAbsmaxPerRow) {
  // Row 0: max 7 -> s = 1 (4-bit, Q = 7): 2.5 -> 2 (half to even), -3.5 -> -4; row 1 all zero stays zero.
  std::vector<float> s;
  auto wq = wq_of(WeightFormat::kInt4, {7.0f, 2.5f, -3.5f, 0, 0, 0}, 2, 3, &s);
  EXPECT_FLOAT_EQ(s[0], 1.0f);
  EXPECT_FLOAT_EQ(s[1], 0.0f);
  EXPECT_EQ(wq, (std::vector<float>{7, 2, -4, 0, 0, 0}));
  // 8-bit: max 127 -> s = 1, codes are the rounded weights.
  auto w8 = wq_of(WeightFormat::kInt8, {127.0f, -0.5f, 1.5f, 64.4f}, 1, 4);
  EXPECT_EQ(w8, (std::vector<float>{127, 0, 2, 64}));
}

TEST(ActQuant, PerTokenAbsmaxAndBinary) {
  // Row max 127 -> s = 1: values round half to even; a zero row stays zero (eps).
  const std::vector<float> x = {127.0f, 0.5f, -1.5f, 2.5f, 0, 0, 0, 0};
  std::vector<float> q(x.size());
  act_traits(ActFormat::kInt8).fake_quant(x.data(), 2, 4, q.data());
  EXPECT_EQ(q, (std::vector<float>{127, 0, -2, 2, 0, 0, 0, 0}));
  // 2-bit: Q = 1, s = 1 / max|x| = 0.25: x s = {1, 0.125, -0.375, -1} -> {1, 0, 0, -1} / s
  const std::vector<float> y = {4.0f, 0.5f, -1.5f, -4.0f};
  std::vector<float> q2(4);
  act_traits(ActFormat::kInt2).fake_quant(y.data(), 1, 4, q2.data());
  EXPECT_EQ(q2, (std::vector<float>{4, 0, 0, -4}));
  // Binary: sign times mean|x| = 2.5; zero goes to -.
  const std::vector<float> z = {4.0f, 0.0f, -1.5f, -4.5f};
  std::vector<float> q1(4);
  act_traits(ActFormat::kBinary).fake_quant(z.data(), 1, 4, q1.data());
  EXPECT_EQ(q1, (std::vector<float>{2.5f, -2.5f, -2.5f, -2.5f}));
}

TEST(ActQuant, VectorisedPathsAgreeWithScalarFormula) {
  Rng r(5);
  const int64_t M = 70, K = 37;
  std::vector<float> x(static_cast<size_t>(M * K)), q(x.size());
  for (auto& v : x) v = static_cast<float>(3 * r.normal());
  act_traits(ActFormat::kInt8).fake_quant(x.data(), M, K, q.data());
  for (int64_t m = 0; m < M; ++m) {
    float mx = 0;
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, std::fabs(x[m * K + k]));
    const float s = 127.0f / std::max(mx, 1e-5f);
    for (int64_t k = 0; k < K; ++k)
      ASSERT_FLOAT_EQ(q[m * K + k], std::clamp(std::nearbyint(x[m * K + k] * s), -128.0f, 127.0f) / s);
  }
}

// The absmean rule: step = κ · mean|x| per row (κ from the format's row),
// codes round half to even and clip to [-Q-1, Q]; binary is the same either way.
TEST(ActQuant, AbsmeanStepIsKappaTimesMeanAbs) {
  // A2, κ 1.5: mean|x| = 2 -> step 3; x / 3 = {0.67, -0.33, 0.17, -1.5} -> {1, 0, 0, -2} (half to even).
  const std::vector<float> y = {2.0f, -1.0f, 0.5f, -4.5f};
  std::vector<float> q2(4);
  act_traits(ActFormat::kInt2).fake_quant(y.data(), 1, 4, q2.data(), ActScale::kAbsMean);
  EXPECT_EQ(act_traits(ActFormat::kInt2).absmean_step, 1.5f);
  EXPECT_EQ(q2, (std::vector<float>{3, 0, 0, -6}));
  Rng r(6);
  for (ActFormat f : {ActFormat::kInt8, ActFormat::kInt4, ActFormat::kInt2, ActFormat::kBinary}) {
    const ActFormatTraits& t = act_traits(f);
    SCOPED_TRACE(t.bits);
    for (int64_t K : {1, 15, 16, 37, 100}) {
      const int64_t M = 19;
      std::vector<float> x(static_cast<size_t>(M * K)), q(x.size()), q_max(x.size());
      for (auto& v : x) v = static_cast<float>(3 * r.normal());
      for (int64_t k = 0; k < K; ++k) x[static_cast<size_t>(4 * K + k)] = 0;  // an all-zero row (ε)
      t.fake_quant(x.data(), M, K, q.data(), ActScale::kAbsMean);
      t.fake_quant(x.data(), M, K, q_max.data(), ActScale::kAbsMax);
      for (int64_t m = 0; m < M; ++m) {
        double mean = 0;
        for (int64_t k = 0; k < K; ++k) mean += std::fabs(x[m * K + k]);
        mean /= static_cast<double>(K);
        if (f == ActFormat::kBinary) {  // one rule: sign times mean|x|
          for (int64_t k = 0; k < K; ++k) ASSERT_EQ(q[m * K + k], q_max[m * K + k]);
          continue;
        }
        const double step = t.absmean_step * std::max(mean, 1e-5);
        for (int64_t k = 0; k < K; ++k) {
          const double code = std::clamp(std::nearbyint(x[m * K + k] / step), -t.qmax - 1.0, double(t.qmax));
          ASSERT_NEAR(q[m * K + k], code * step, 1e-5 * step) << "row " << m << " k " << k;
        }
      }
    }
  }
  // A2's codes: absmean uses all four levels on Gaussian rows where absmax leaves most at zero.
  const int64_t M = 64, K = 96;
  std::vector<float> x(static_cast<size_t>(M * K)), q(x.size());
  for (auto& v : x) v = static_cast<float>(r.normal());
  auto zeros = [&](ActScale s) {
    act_traits(ActFormat::kInt2).fake_quant(x.data(), M, K, q.data(), s);
    return std::count(q.begin(), q.end(), 0.0f);
  };
  EXPECT_LT(zeros(ActScale::kAbsMean), M * K / 2);
  EXPECT_GT(zeros(ActScale::kAbsMax), M * K * 3 / 4);
}

TEST(SteClip, OnlySaturatedTernaryCodesLoseTheirGradient) {
  // γ = mean|W| = 1: |W| > 1.5 saturates.
  const std::vector<float> w = {0.2f, 1.4f, -1.6f, 0.8f};
  std::vector<float> s(1), dw = {1, 1, 1, 1};
  std::vector<int8_t> codes(4);
  std::vector<float> wq(4);
  fake_quant_weights(weight_traits(WeightFormat::kTernary), w.data(), 1, 4, codes.data(), wq.data(), s.data());
  ste_clip_mask(weight_traits(WeightFormat::kTernary), w.data(), 1, 4, s.data(), dw.data());
  EXPECT_EQ(dw, (std::vector<float>{1, 1, 0, 1}));
  std::vector<float> db = {1, 1, 1, 1};  // binary never clips
  ste_clip_mask(weight_traits(WeightFormat::kBinary), w.data(), 1, 4, s.data(), db.data());
  EXPECT_EQ(db, (std::vector<float>{1, 1, 1, 1}));
}

// ------------------------------------------------------------ PyTorch reference

// The activation STE's clip: binary keeps |x| <= mean|x| (hardtanh on x / step);
// k-bit keeps the inputs whose code did not saturate (x / step in [-Q-1.5, Q+0.5]),
// so absmax, whose range is the row's max, keeps everything.
TEST(SteClip, ActivationMaskKeepsOnlyInputsInsideTheCodeRange) {
  // Binary: mean|x| = 2.5. A2 absmean row 2: mean 2.75, step 4.125, 9 / 4.125 = 2.18 > 1.5.
  const std::vector<float> z = {4.0f, 0.0f, -1.5f, -4.5f, 9.0f, -1.0f, 0.5f, -0.5f};
  std::vector<float> d1(8, 1.0f), d2(8, 1.0f);
  act_ste_clip_mask(act_traits(ActFormat::kBinary), ActScale::kAbsMax, z.data(), 2, 4, d1.data());
  EXPECT_EQ(d1, (std::vector<float>{0, 1, 1, 0, 0, 1, 1, 1}));  // row 2: mean 2.75
  act_ste_clip_mask(act_traits(ActFormat::kInt2), ActScale::kAbsMean, z.data(), 2, 4, d2.data());
  EXPECT_EQ(d2, (std::vector<float>{1, 1, 1, 1, 0, 1, 1, 1}));
  Rng r(7);
  for (ActFormat f : {ActFormat::kF32, ActFormat::kInt8, ActFormat::kInt4, ActFormat::kInt2, ActFormat::kBinary})
    for (ActScale rule : {ActScale::kAbsMax, ActScale::kAbsMean})
      for (int64_t M : {1, 2, 67})
        for (int64_t K : {1, 15, 37, 100}) {
          const ActFormatTraits& t = act_traits(f);
          SCOPED_TRACE(std::to_string(t.bits) + " " + act_scale_name(rule) + " M " + std::to_string(M) + " K " +
                       std::to_string(K));
          std::vector<float> x(static_cast<size_t>(M * K)), d(x.size());
          for (auto& v : x) v = static_cast<float>(r.normal() * (r.uniform() < 0.05 ? 20 : 1));  // some outliers
          for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<float>(i + 1);
          const std::vector<float> d0 = d;
          act_ste_clip_mask(t, rule, x.data(), M, K, d.data());
          int64_t kept = 0;
          for (int64_t m = 0; m < M; ++m) {
            double mean = 0, mx = 0;
            for (int64_t k = 0; k < K; ++k) {
              mean += std::fabs(x[m * K + k]);
              mx = std::max(mx, double(std::fabs(x[m * K + k])));
            }
            mean /= static_cast<double>(K);
            double lo = -1e30, hi = 1e30;  // fp32: no quantiser, nothing clipped
            if (f == ActFormat::kBinary) {
              lo = -mean;
              hi = mean;
            } else if (f != ActFormat::kF32) {
              const double step = rule == ActScale::kAbsMean ? t.absmean_step * std::max(mean, 1e-5)
                                                             : std::max(mx, 1e-5) / t.qmax;
              lo = (-t.qmax - 1.5) * step;
              hi = (t.qmax + 0.5) * step;
            }
            for (int64_t k = 0; k < K; ++k) {
              const size_t i = static_cast<size_t>(m * K + k);
              const double v = x[i], margin = 1e-5 * (std::fabs(lo) + std::fabs(hi));
              if (v > lo + margin && v < hi - margin) {
                ASSERT_EQ(d[i], d0[i]) << "kept " << m << "," << k;
              }
              if (v < lo - margin || v > hi + margin) {
                ASSERT_EQ(d[i], 0.0f) << "clipped " << m << "," << k;
              }
              kept += d[i] != 0;
            }
          }
          if (f == ActFormat::kF32 || (rule == ActScale::kAbsMax && f != ActFormat::kBinary)) {
            EXPECT_EQ(kept, M * K);  // absmax's range is the row's own max
          }
          if (f == ActFormat::kBinary && K >= 15) {
            EXPECT_LT(kept, M * K);
          }
        }
}

TEST(Reference, TernaryAndBinaryFakeQuantLogitsMatchPyTorch) {
  LoadedViT m = load_vit(kRef + "model.safetensors");
  Tensor images = reference_input();
  for (auto [spec, file] : {std::pair<const char*, const char*>{"W1.58A8", "logits_ternary.npy"}, {"W1A8", "logits_binary.npy"}}) {
    NpyArray want = read_npy(kRef + file);
    QuantPlan plan = QuantPlan::uniform(m.params.cfg.depth, parse_quant_spec(spec));
    for (const char* backend : {"reference", "onednn"}) {
      SCOPED_TRACE(std::string(spec) + " " + backend);
      auto be = make_backend(parse_model_backend(backend));
      ViTRunner run(m.params, *be, false, &plan);
      TensorView out = run.forward(images.view());
      float diff = 0;
      for (int64_t i = 0; i < 21; ++i) diff = std::max(diff, std::fabs(out.data()[i] - want.data[static_cast<size_t>(i)]));
      EXPECT_LE(diff, 5e-2f);
      std::printf("[ %s %s ] max |logit - PyTorch| = %.3g\n", spec, backend, diff);
      for (int64_t b = 0; b < 3; ++b) {
        const float* o = out.data() + b * 7;
        const float* w = want.data.data() + b * 7;
        EXPECT_EQ(std::max_element(o, o + 7) - o, std::max_element(w, w + 7) - w) << "row " << b;
      }
      // And the fp32 forward of the same runner class differs: the plan took effect.
      ViTRunner fp(m.params, *be);
      EXPECT_GT(std::fabs(fp.forward(images.view()).data()[0] - out.data()[0]), 1e-3f);
    }
  }
}

// ------------------------------------------------------------ integer engines

float max_abs_diff(const float* a, const float* b, int64_t n) {
  float d = 0;
  for (int64_t i = 0; i < n; ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

// The students on integer kernels (bitbench's and oneDNN's s8s8) against
// PyTorch's fake-quant logits, with the same tolerance as the fake-quant forward.
TEST(IntEngine, StudentsOnIntegerKernelsMatchPyTorch) {
  LoadedViT m = load_vit(kRef + "model.safetensors");
  Tensor images = reference_input();
  for (auto [spec, file] : {std::pair<const char*, const char*>{"W1.58A8", "logits_ternary.npy"}, {"W1A8", "logits_binary.npy"}}) {
    NpyArray want = read_npy(kRef + file);
    QuantPlan plan = QuantPlan::uniform(m.params.cfg.depth, parse_quant_spec(spec));
    for (ModelBackend kind : {ModelBackend::kBitKernels, ModelBackend::kOnednnInt8}) {
      SCOPED_TRACE(std::string(spec) + " " + model_backend_name(kind));
      IntModel engine = build_int_model(kind, m.params, plan);
      auto be = make_backend(ModelBackend::kOnednn);
      ViTRunner run(m.params, *be, false, &plan, &engine);
      TensorView out = run.forward(images.view());
      const float diff = max_abs_diff(out.data(), want.data.data(), 21);
      EXPECT_LE(diff, 5e-2f);
      std::printf("[ %s %s ] max |logit - PyTorch| = %.3g\n", spec, model_backend_name(kind), diff);
      for (int64_t b = 0; b < 3; ++b) {
        const float* o = out.data() + b * 7;
        const float* w = want.data.data() + b * 7;
        EXPECT_EQ(std::max_element(o, o + 7) - o, std::max_element(w, w + 7) - w) << "row " << b;
      }
    }
  }
}

// Every spec the integer kernels take, SubLN included: both engines agree with
// each other (same integer sums), stay close to the fake-quant forward (only
// float rounding of the quantisers' inputs differs), and the packed file runs
// to exactly the logits of the latent weights it was written from.
TEST(IntEngine, EverySpecAgreesWithTheFakeQuantForwardAndThePackedFile) {
  LoadedViT m = load_vit(kRef + "model.safetensors");
  Tensor images = random_images(4, 3, 16, 9);
  const int64_t n = 4 * 7;
  test::TempDir dir;
  // "+" options: subln, absmean (the plan's act_scale), the low-bit extras
  // (rsign, rprelu, bireal), these with non-identity parameters, and attention
  // on codes (qkN: q·kᵀ at AN; pvN: attention·v at AN; probscale: the learnable
  // per-head probability step, not 1).
  for (const char* name : {"W1.58A8", "W1A8", "W1A2", "W1A1", "W2A2", "W4A4", "W8A8", "W1.58A8+subln", "W1A1+subln",
                           "W1A2+absmean", "W4A4+absmean+subln", "W1A1+rsign+rprelu+bireal",
                           "W1A2+absmean+rsign+rprelu+bireal+subln", "W1.58A8+rsign+subln", "W1.58A8+qk8+pv8+subln",
                           "W1A2+absmean+qk2+pv2", "W1A1+qk1+pv1+probscale", "W1A4+pv4+probscale", "W1.58rA8+subln",
                           "W1.58rA2+absmean", "W1.58rA8+qk8+pv8+int+subln", "W1A1+qk8+pv8+int",
                           "W1A4+qk4+pv4+int+probscale", "W1.58rA8+qk8+pv8+int+intln+subln+rprelu",
                           "W1A4+qk4+pv4+int+intln"}) {
    SCOPED_TRACE(name);
    const std::string sname(name);
    auto has = [&](const char* opt) { return sname.find(std::string("+") + opt) != std::string::npos; };
    QuantPlan plan = QuantPlan::uniform(m.params.cfg.depth, parse_quant_spec(sname.substr(0, sname.find('+'))));
    plan.subln = has("subln");
    plan.integer = has("int");  // integer softmax and GELU (int_ops.hpp)
    plan.int_layernorm = has("intln");  // integer LayerNorm into qkv and fc1 (int_layernorm.hpp)
    if (has("absmean")) plan.act_scale = ActScale::kAbsMean;
    for (const char* bits : {"8", "4", "2", "1"}) {
      if (has((std::string("qk") + bits).c_str())) plan.attn_qk = parse_act_format(std::string("A") + bits);
      if (has((std::string("pv") + bits).c_str())) plan.attn_pv = parse_act_format(std::string("A") + bits);
    }
    plan.head = plan.spec;  // the head too: a quantised layer with few rows
    ViTConfig c = m.params.cfg;
    c.rsign = has("rsign");
    c.rprelu = has("rprelu");
    c.bireal = has("bireal");
    c.attn_prob_scale = has("probscale");
    ViTParams params(c);
    Rng r(17);
    for (const ParamEntry& e : params.entries) {
      float* d = params.data(e);
      if (const ParamEntry* src = m.params.find(e.name)) {
        std::copy(m.params.data(*src), m.params.data(*src) + e.numel, d);
        continue;
      }
      const bool slope = e.name.find("rprelu_slope") != std::string::npos || e.name.find("prob_scale") != std::string::npos;
      for (int64_t i = 0; i < e.numel; ++i) d[i] = static_cast<float>((slope ? 0.5 : 0.0) + 0.1 * r.normal());
    }
    auto be = make_backend(ModelBackend::kOnednn);
    ViTRunner fake(params, *be, false, &plan);
    std::vector<float> want(fake.forward(images.view()).data(), fake.forward(images.view()).data() + n);
    float scale = 0;
    for (float v : want) scale = std::max(scale, std::fabs(v));
    if (plan.attn_quantized()) {  // the attention's codes change the function: the option is in force
      QuantPlan float_attn = plan;
      float_attn.attn_qk = float_attn.attn_pv = ActFormat::kF32;
      ViTRunner plain(params, *be, false, &float_attn);
      EXPECT_GT(max_abs_diff(plain.forward(images.view()).data(), want.data(), n), 1e-3f);
    }
    if (plan.integer) {  // so do the integer softmax and GELU
      QuantPlan float_ops = plan;
      float_ops.integer = false;
      float_ops.int_layernorm = false;
      ViTRunner plain(params, *be, false, &float_ops);
      EXPECT_GT(max_abs_diff(plain.forward(images.view()).data(), want.data(), n), 1e-3f);
    }
    if (plan.int_layernorm) {  // the integer LayerNorm's codes are its own (one code apart here and there)
      QuantPlan float_norm = plan;
      float_norm.int_layernorm = false;
      ViTRunner plain(params, *be, false, &float_norm);
      EXPECT_GT(max_abs_diff(plain.forward(images.view()).data(), want.data(), n), 0.0f);
    }
    IntModel bits = build_int_model(ModelBackend::kBitKernels, params, plan);
    IntModel dnn = build_int_model(ModelBackend::kOnednnInt8, params, plan);
    ViTRunner rb(params, *be, false, &plan, &bits), rd(params, *be, false, &plan, &dnn);
    std::vector<float> got_b(rb.forward(images.view()).data(), rb.forward(images.view()).data() + n);
    const float* got_d = rd.forward(images.view()).data();
    EXPECT_LE(max_abs_diff(got_b.data(), got_d, n), 1e-4f * (1 + scale));
    const float diff = max_abs_diff(got_b.data(), want.data(), n);
    std::printf("[ %s ] max |bitkernels - fake quant| = %.3g (logits up to %.3g)\n", name, diff, scale);
    EXPECT_LE(diff, 1e-3f * (1 + scale));
    // The packed export: same codes, so the same logits bit for bit.
    const std::string path = dir / "s.packed.safetensors";
    write_packed_student(path, params, plan);
    LoadedModel pk = load_model(path);
    IntModel from_file = build_int_model(ModelBackend::kBitKernels, pk.params, *pk.plan, &pk.packed_layers);
    ViTRunner rp(pk.params, *be, false, pk.plan_ptr(), &from_file);
    const float* got_p = rp.forward(images.view()).data();
    EXPECT_EQ(max_abs_diff(got_b.data(), got_p, n), 0.0f);
  }
}

// A DeiT-style student (distillation token) with a quantised head: its
// head_dist is quantised too, counted once, exported, and run on the engine.
TEST(QuantPlan, DistilledStudentWithQuantisedHeadCountsAndRunsHeadDist) {
  const ViTConfig c = tiny_distilled();
  ViTParams p(c);
  p.init_random(3);
  QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec("W1.58A8"));
  plan.head = plan.spec;
  const std::vector<PlannedLinear> ls = plan_linears(c, plan);
  ASSERT_EQ(ls.size(), static_cast<size_t>(1 + 4 * c.depth + 2));
  EXPECT_EQ(ls.back().name, "head_dist.weight");
  EXPECT_EQ(ls.back().spec, plan.spec);
  const int64_t D = c.embed_dim, Hm = c.mlp_hidden;
  const int64_t blocks = c.depth * (3 * D * D + D * D + Hm * D + D * Hm), heads = 2 * int64_t{c.num_classes} * D;
  EXPECT_EQ(quantized_weight_count(p, plan), blocks + heads);
  // Memory: the engine holds both heads' packed codes.
  IntModel engine = build_int_model(ModelBackend::kBitKernels, p, plan);
  ASSERT_NE(engine.head_dist, nullptr);
  EXPECT_EQ(engine.head_dist->weight_bytes(), engine.head->weight_bytes());
  // Exported and read back: head_dist is packed, and the engine's logits equal the fake-quant forward.
  test::TempDir dir;
  const std::string path = dir / "deit_student.packed.safetensors";
  write_packed_student(path, p, plan);
  PackedStudent s = read_packed_student(path);
  EXPECT_TRUE(std::any_of(s.layers.begin(), s.layers.end(), [](const PackedLayer& l) { return l.name == "head_dist.weight"; }));
  Tensor images = random_images(2, c.in_chans, c.img_size, 4);
  auto be = make_backend(ModelBackend::kOnednn);
  ViTRunner fake(p, *be, false, &plan), run(p, *be, false, &plan, &engine);
  const int64_t n = 2 * c.num_classes;
  std::vector<float> want(fake.forward(images.view()).data(), fake.forward(images.view()).data() + n);
  EXPECT_LE(max_abs_diff(run.forward(images.view()).data(), want.data(), n), 1e-3f);
}

// The storage tag bitbench.packing records per tensor (tq1r for W1.58r) is
// read back and checked against the plan's format row: a file whose tag says
// tq1 for a W1.58r layer (same bytes, other scales) or an unknown tag is
// refused naming the tensor; a file without the entry (or the key) still loads.
TEST(PackedStudent, StorageTagsAreReadAndChecked) {
  LoadedViT m = load_vit(kRef + "model.safetensors");
  const QuantPlan plan = QuantPlan::uniform(m.params.cfg.depth, parse_quant_spec("W1.58rA8"));
  test::TempDir dir;
  const std::string path = dir / "s.packed.safetensors";
  write_packed_student(path, m.params, plan);
  const SafetensorsFile f = SafetensorsFile::read(path);
  nlohmann::json packing = nlohmann::json::parse(f.own_metadata().at("packing"));
  const std::string layer = "blocks.0.attn.qkv.weight";
  ASSERT_EQ(packing.at(layer).at("format"), "tq1r");
  EXPECT_NO_THROW(read_packed_student(path));
  // The same tensors, the metadata's packing entry rewritten.
  auto rewrite = [&](const std::string& out, const std::optional<nlohmann::json>& pk) {
    std::vector<TensorToWrite> t;
    for (const TensorInfo& i : f.tensors()) t.push_back({i.name, i.shape, i.dtype, f.raw(i)});
    auto meta = f.own_metadata();
    if (pk) meta["packing"] = pk->dump();
    else meta.erase("packing");
    write_safetensors(out, t, namespaced_metadata(meta));
    return out;
  };
  nlohmann::json wrong = packing;
  wrong[layer]["format"] = "tq1";
  test::expect_error([&] { read_packed_student(rewrite(dir / "tq1.safetensors", wrong)); },
                     {"tq1.safetensors", layer, "tq1", "W1.58rA8", "tq1r"});
  wrong[layer]["format"] = "tq9";
  test::expect_error([&] { read_packed_student(rewrite(dir / "tq9.safetensors", wrong)); },
                     {"tq9.safetensors", layer, "tq9", "known: tq1"});
  nlohmann::json fewer = packing;
  fewer.erase(layer);
  EXPECT_NO_THROW(read_packed_student(rewrite(dir / "fewer.safetensors", fewer)));
  EXPECT_NO_THROW(read_packed_student(rewrite(dir / "none.safetensors", std::nullopt)));
}

// A packed student opened on an integer backend keeps its quantised weights
// only in the engine's layout: no fp32 (dequantised) and no int8 (unpacked)
// copy stays alive, counted from the buffers, and its logits are unchanged.
TEST(RunnableModel, PackedStudentHoldsNoFp32CopyOfAQuantisedWeight) {
  LoadedViT m = load_vit(kRef + "model.safetensors");
  QuantPlan plan = QuantPlan::uniform(m.params.cfg.depth, parse_quant_spec("W1.58A8"));
  plan.head = plan.spec;
  test::TempDir dir;
  const std::string path = dir / "s.packed.safetensors";
  write_packed_student(path, m.params, plan);
  Tensor images = random_images(3, 3, 16, 5);
  for (ModelBackend b : {ModelBackend::kBitKernels, ModelBackend::kOnednnInt8}) {
    SCOPED_TRACE(model_backend_name(b));
    std::unique_ptr<RunnableModel> model = open_model(path, b);
    const ViTParams& p = model->model().params;
    const int64_t quantized = quantized_weight_count(p, *model->plan());
    ASSERT_GT(quantized, 0);
    EXPECT_EQ(p.resident(), p.count() - quantized);
    for (const PlannedLinear& l : plan_linears(p.cfg, *model->plan()))
      if (l.spec.quantized()) {
        EXPECT_EQ(p.data(*p.find(l.name)), nullptr) << l.name;
      }
    EXPECT_TRUE(model->model().packed_layers.empty());
    EXPECT_EQ(model->weight_bytes_in_memory(), model->engine()->weight_bytes() + p.resident() * 4);
    // The same logits as an engine built while every copy was still there.
    LoadedModel full = load_model(path);
    IntModel e = build_int_model(b, full.params, *full.plan, &full.packed_layers);
    auto be = make_backend(ModelBackend::kOnednn);
    ViTRunner want(full.params, *be, false, full.plan_ptr(), &e);
    const int64_t n = 3 * p.cfg.num_classes;
    std::vector<float> w(want.forward(images.view()).data(), want.forward(images.view()).data() + n);
    EXPECT_EQ(max_abs_diff(model->forward(images.view()).data(), w.data(), n), 0.0f);
  }
}

// Inference in chunks of images gives the same floats as one pass: logits,
// both heads of a distilled model, for the fp32 model, the fake-quant forward
// and the engine, on 1 and 2 threads.
TEST(ViTRunner, ChunkedInferenceEqualsOnePassBitForBit) {
  const ViTConfig c = tiny_distilled();
  ViTParams p(c);
  p.init_random(8);
  QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec("W1.58A8"));
  plan.subln = true;
  Tensor images = random_images(7, c.in_chans, c.img_size, 9);
  IntModel engine = build_int_model(ModelBackend::kBitKernels, p, plan);
  auto be = make_backend(ModelBackend::kOnednn);
  const int64_t n = 7 * c.num_classes;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (int mode = 0; mode < 3; ++mode) {
      SCOPED_TRACE(std::string(mode == 0 ? "fp32" : mode == 1 ? "fake-quant" : "engine") + ", threads " + std::to_string(threads));
      ViTRunner one(p, *be, false, mode ? &plan : nullptr, mode == 2 ? &engine : nullptr);
      ViTRunner chunked(p, *be, false, mode ? &plan : nullptr, mode == 2 ? &engine : nullptr);
      chunked.set_inference_chunk(3);  // chunks of 3, 3, 1 images
      std::vector<float> want(one.forward(images.view()).data(), one.forward(images.view()).data() + n);
      std::vector<float> cls(one.logits_cls().data(), one.logits_cls().data() + n);
      std::vector<float> dist(one.logits_dist().data(), one.logits_dist().data() + n);
      EXPECT_EQ(max_abs_diff(chunked.forward(images.view()).data(), want.data(), n), 0.0f);
      EXPECT_EQ(max_abs_diff(chunked.logits_cls().data(), cls.data(), n), 0.0f);
      EXPECT_EQ(max_abs_diff(chunked.logits_dist().data(), dist.data(), n), 0.0f);
      EXPECT_THROW(chunked.block_output(0), Error);
    }
  }
  set_num_threads(0);
}

TEST(IntEngine, LayersWithFloatActivationsAndTrainingAreRefused) {
  LoadedViT m = load_vit(kRef + "model.safetensors");
  QuantPlan plan = QuantPlan::uniform(m.params.cfg.depth, parse_quant_spec("W1.58A32"));
  EXPECT_THROW(build_int_model(ModelBackend::kBitKernels, m.params, plan), Error);
  plan = QuantPlan::uniform(m.params.cfg.depth, parse_quant_spec("W1.58A8"));
  IntModel e = build_int_model(ModelBackend::kBitKernels, m.params, plan);
  auto be = make_backend(ModelBackend::kOnednn);
  EXPECT_THROW(ViTRunner(m.params, *be, true, &plan, &e), Error);
}

// ------------------------------------------------------------ STE through the model

// The straight-through estimator on a BitLinear head (W1.58A8): the latent
// weight gradient must be dy^T · x̃ (the quantised input), zero where the
// ternary code saturated — computed here by hand from the fp32 model's taps.
TEST(Ste, HeadGradientIsDyTimesQuantisedInput) {
  ViTConfig c;
  c.img_size = 8; c.patch_size = 4; c.in_chans = 1; c.embed_dim = 8; c.depth = 1; c.num_heads = 2;
  c.mlp_hidden = 16; c.num_classes = 3;
  ViTParams p(c);
  p.init_random(3);
  for (int64_t i = 0; i < p.count(); ++i) p.flat[i] += 0.05f * static_cast<float>(i % 7 - 3);
  QuantPlan plan = QuantPlan::uniform(c.depth, {});
  plan.head = parse_quant_spec("W1.58A8");
  auto be = make_backend(ModelBackend::kReference);
  ViTRunner run(p, *be, true, &plan);
  Tensor x(Shape{2, 1, 8, 8});
  Rng r(4);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  run.forward(x.view());
  std::vector<float> dl = {1, -2, 0.5f, 0.25f, 1, -1}, grads(static_cast<size_t>(p.count()), 0.0f);
  run.backward(dl.data(), grads.data());
  // Recompute the head's quantised input: the final-norm class token, per-token int8.
  ViTRunner fp(p, *be, true);
  std::vector<Tensor> taps;
  fp.capture(&taps);
  fp.forward(x.view());
  const float* ln = taps.back().data();  // [B, T, D] after the final norm
  const int64_t T = c.tokens(), D = c.embed_dim;
  std::vector<float> cls(static_cast<size_t>(2 * D)), xq(cls.size());
  for (int64_t b = 0; b < 2; ++b) std::memcpy(cls.data() + b * D, ln + b * T * D, static_cast<size_t>(D) * 4);
  act_traits(ActFormat::kInt8).fake_quant(cls.data(), 2, D, xq.data());
  std::vector<float> s(1);
  std::vector<int8_t> codes(static_cast<size_t>(3 * D));
  std::vector<float> wq(static_cast<size_t>(3 * D));
  fake_quant_weights(weight_traits(WeightFormat::kTernary), p.head_w, 3, D, codes.data(), wq.data(), s.data());
  const float* gw = grads.data() + (p.head_w - p.flat.data());
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t k = 0; k < D; ++k) {
      float want = dl[static_cast<size_t>(n)] * xq[static_cast<size_t>(k)] + dl[static_cast<size_t>(3 + n)] * xq[static_cast<size_t>(D + k)];
      if (std::fabs(p.head_w[n * D + k]) > 1.5f * (s[0] + 1e-5f)) want = 0;  // clipped code
      EXPECT_NEAR(gw[n * D + k], want, 1e-5f) << n << "," << k;
    }
}

// The clipped activation STE in a runner: a W1A1 head on an fp32 model, one
// image. The final norm's weight gradient is dln[k] · x̂[k] for the class token
// alone, with dln = dlogits · W̃ (W̃ the head's binary weights), masked where
// the head's quantiser input lies outside ±mean|x|, and taken back through
// the SubLN when there is one. Identity gives the unmasked gradient; the head's
// own weight gradient does not change.
TEST(Ste, ClippedActivationSteMasksTheQuantiserInputsGradient) {
  ViTConfig c;
  c.img_size = 8; c.patch_size = 4; c.in_chans = 1; c.embed_dim = 16; c.depth = 1; c.num_heads = 2;
  c.mlp_hidden = 16; c.num_classes = 3;
  ViTParams p(c);
  p.init_random(3);
  for (int64_t i = 0; i < p.count(); ++i) p.flat[i] += 0.05f * static_cast<float>(i % 7 - 3);
  Tensor x(Shape{1, 1, 8, 8});
  Rng r(4);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  auto be = make_backend(ModelBackend::kReference);
  ViTRunner fp(p, *be, true);
  std::vector<Tensor> taps;
  fp.capture(&taps);
  fp.forward(x.view());
  const int64_t D = c.embed_dim, K = c.num_classes;
  const std::vector<float> cls(taps.back().data(), taps.back().data() + D);  // after the final norm, class token
  const float *nw = p.flat.data() + p.find("norm.weight")->offset, *nb = p.flat.data() + p.find("norm.bias")->offset;
  const std::vector<float> dl = {1, -2, 0.5f};
  std::vector<int8_t> codes(static_cast<size_t>(K * D));
  std::vector<float> wq(static_cast<size_t>(K * D)), s(1);
  fake_quant_weights(weight_traits(WeightFormat::kBinary), p.head_w, K, D, codes.data(), wq.data(), s.data());
  for (bool subln : {false, true}) {
    SCOPED_TRACE(subln ? "subln" : "no subln");
    auto grads_with = [&](bool clip) {
      QuantPlan plan = QuantPlan::uniform(c.depth, {});
      plan.head = parse_quant_spec("W1A1");
      plan.subln = subln;
      plan.act_ste_clip = clip;
      ViTRunner run(p, *be, true, &plan);
      run.forward(x.view());
      std::vector<float> g(static_cast<size_t>(p.count()), 0.0f);
      run.backward(dl.data(), g.data());
      return g;
    };
    // The head's quantiser input, and the SubLN's statistics.
    std::vector<double> src(cls.begin(), cls.end());
    double mean = 0, var = 0, rstd = 1;
    if (subln) {
      for (double v : src) mean += v;
      mean /= D;
      for (double v : src) var += (v - mean) * (v - mean);
      rstd = 1.0 / std::sqrt(var / D + c.ln_eps);
      for (double& v : src) v = (v - mean) * rstd;
    }
    double step = 0;
    for (double v : src) step += std::fabs(v);
    step /= D;
    auto want_norm_grad = [&](bool clip) {
      std::vector<double> g(static_cast<size_t>(D));  // d(quantiser input)
      for (int64_t k = 0; k < D; ++k) {
        for (int64_t n = 0; n < K; ++n) g[k] += dl[n] * wq[n * D + k];
        if (clip && std::fabs(src[k]) > step) g[k] = 0;
      }
      if (subln) {  // LayerNorm backward without affine: rstd · (g − mean(g) − x̂ · mean(g · x̂))
        double mg = 0, mgx = 0;
        for (int64_t k = 0; k < D; ++k) {
          mg += g[k] / D;
          mgx += g[k] * src[k] / D;
        }
        for (int64_t k = 0; k < D; ++k) g[k] = rstd * (g[k] - mg - src[k] * mgx);
      }
      for (int64_t k = 0; k < D; ++k) g[k] *= (cls[k] - nb[k]) / nw[k];  // · x̂ of the final norm
      return g;
    };
    const std::vector<float> gi = grads_with(false), gc = grads_with(true);
    const std::vector<double> wi = want_norm_grad(false), wc = want_norm_grad(true);
    const int64_t nwo = p.find("norm.weight")->offset, hwo = p.find("head.weight")->offset;
    int clipped = 0;
    for (int64_t k = 0; k < D; ++k) {
      clipped += std::fabs(src[k]) > step;
      EXPECT_NEAR(gi[nwo + k], wi[k], 1e-5 + 1e-4 * std::fabs(wi[k])) << "identity " << k;
      EXPECT_NEAR(gc[nwo + k], wc[k], 1e-5 + 1e-4 * std::fabs(wc[k])) << "clipped " << k;
    }
    EXPECT_GT(clipped, 0);
    EXPECT_LT(clipped, D);
    for (int64_t i = 0; i < K * D; ++i) EXPECT_EQ(gc[hwo + i], gi[hwo + i]);
  }
}

// The low-bit extras in a training runner: RPReLU at its identity start (slope
// 1) passes the output gradient through, so each Linear's ζ gradient equals
// its bias gradient and γ's is its negative; every extra tensor gets a finite,
// non-zero gradient; and training runs with every combination on the STE.
TEST(Ste, RPReLUAtIdentityPassesTheBiasGradientAndExtrasTrain) {
  ViTConfig c;
  c.img_size = 8; c.patch_size = 4; c.in_chans = 1; c.embed_dim = 8; c.depth = 2; c.num_heads = 2;
  c.mlp_hidden = 16; c.num_classes = 3;
  c.rsign = c.rprelu = c.bireal = true;
  ViTParams p(c);
  p.init_random(3);
  for (const char* spec : {"W1A1", "W1A2"}) {
    SCOPED_TRACE(spec);
    QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec(spec));
    plan.act_scale = ActScale::kAbsMean;
    auto be = make_backend(ModelBackend::kReference);
    ViTRunner run(p, *be, true, &plan);
    Tensor x(Shape{3, 1, 8, 8});
    Rng r(4);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
    run.forward(x.view());
    std::vector<float> dl = {1, -2, 0.5f, 0.25f, 1, -1, 0.3f, 0.2f, -0.1f}, grads(static_cast<size_t>(p.count()), 0.0f);
    run.backward(dl.data(), grads.data());
    auto grad = [&](const std::string& name) { return grads.data() + p.find(name)->offset; };
    for (int l = 0; l < c.depth; ++l)
      for (const char* lin : kBlockLinearNames) {
        const std::string n = "blocks." + std::to_string(l) + "." + lin + ".";
        const int64_t N = p.find(n + "bias")->numel;
        for (int64_t i = 0; i < N; ++i) {
          EXPECT_NEAR(grad(n + "rprelu_out")[i], grad(n + "bias")[i], 1e-6f) << n << i;
          EXPECT_NEAR(grad(n + "rprelu_in")[i], -grad(n + "bias")[i], 1e-6f) << n << i;
        }
        for (const char* t : {"act_shift", "rprelu_in", "rprelu_slope", "rprelu_out"}) {
          const ParamEntry* e = p.find(n + t);
          double sq = 0;
          for (int64_t i = 0; i < e->numel; ++i) {
            ASSERT_TRUE(std::isfinite(grad(n + t)[i]));
            sq += grad(n + t)[i] * grad(n + t)[i];
          }
          // rprelu_slope: no gradient while every z > 0 is possible but not at a random start.
          EXPECT_GT(sq, 0.0) << n << t;
        }
      }
  }
}

// A tiny model (8×8 images, 2 blocks of width 8, 2 heads) under `plan`: its
// training runner's forward must give the inference runner's logits bit for
// bit (one function for both); then each block's tensors named in `names`
// must get a finite, non-zero gradient from one backward.
void expect_trains_as_it_infers(const ViTConfig& c, uint64_t seed, const QuantPlan& plan,
                                std::initializer_list<const char*> names) {
  ViTParams p(c);
  p.init_random(seed);
  auto be = make_backend(ModelBackend::kReference);
  ViTRunner run(p, *be, true, &plan), infer(p, *be, false, &plan);
  Tensor x(Shape{3, 1, 8, 8});
  Rng r(seed + 1);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  const TensorView lt = run.forward(x.view());
  std::vector<float> train_logits(lt.data(), lt.data() + 9);
  const TensorView li = infer.forward(x.view());
  EXPECT_EQ(std::vector<float>(li.data(), li.data() + 9), train_logits);
  std::vector<float> dl = {1, -2, 0.5f, 0.25f, 1, -1, 0.3f, 0.2f, -0.1f}, grads(static_cast<size_t>(p.count()), 0.0f);
  run.backward(dl.data(), grads.data());
  for (int l = 0; l < c.depth; ++l)
    for (const char* t : names) {
      const ParamEntry* e = p.find("blocks." + std::to_string(l) + "." + t);
      ASSERT_NE(e, nullptr);
      double sq = 0;
      for (int64_t i = 0; i < e->numel; ++i) {
        const float g = grads[static_cast<size_t>(e->offset + i)];
        ASSERT_TRUE(std::isfinite(g));
        sq += static_cast<double>(g) * g;
      }
      EXPECT_GT(sq, 0.0) << e->name;
    }
}

ViTConfig tiny_config() {
  ViTConfig c;
  c.img_size = 8; c.patch_size = 2; c.in_chans = 1; c.embed_dim = 8; c.depth = 2; c.num_heads = 2;
  c.mlp_hidden = 16; c.num_classes = 3;
  return c;
}

// Attention on codes: the learnable probability scale and q/k/v weights train.
TEST(Ste, QuantisedAttentionTrainsItsProbabilityScale) {
  ViTConfig c = tiny_config();
  c.attn_prob_scale = true;
  for (const char* fmt : {"A1", "A2"}) {
    SCOPED_TRACE(fmt);
    QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec("W1A2"));
    plan.act_scale = ActScale::kAbsMean;
    plan.attn_qk = plan.attn_pv = parse_act_format(fmt);
    expect_trains_as_it_infers(c, 5, plan, {"attn.prob_scale", "attn.qkv.weight"});
  }
}

// An integer-only plan (softmax and GELU on codes) trains every block Linear
// through its integer functions, and a plan without both attention formats
// is refused with what to pass.
TEST(Ste, IntegerPlanTrainsAndInfersTheSameFunction) {
  const ViTConfig c = tiny_config();
  QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec("W1.58A8"));
  plan.attn_qk = plan.attn_pv = ActFormat::kInt8;
  plan.integer = true;
  for (bool subln : {false, true}) {  // GELU's codes go to fc2 directly, or through SubLN
    SCOPED_TRACE(subln ? "subln" : "no subln");
    plan.subln = subln;
    expect_trains_as_it_infers(c, 7, plan, {"attn.qkv.weight", "mlp.fc1.weight", "mlp.fc2.weight"});
  }
  plan.int_layernorm = true;  // the block LayerNorms on integers too: their weights still train (straight through)
  for (bool subln : {false, true}) {
    SCOPED_TRACE(subln ? "int_layernorm, subln" : "int_layernorm");
    plan.subln = subln;
    expect_trains_as_it_infers(c, 9, plan, {"norm1.weight", "norm1.bias", "norm2.weight", "attn.qkv.weight"});
  }
  const nlohmann::json j = to_json(plan);
  EXPECT_EQ(j.at("integer"), true);
  EXPECT_EQ(j.at("int_layernorm"), true);
  EXPECT_TRUE(quant_plan_from_json(j, c.depth, "s.json", "/quant").integer);
  EXPECT_TRUE(quant_plan_from_json(j, c.depth, "s.json", "/quant").int_layernorm);
  for (const auto& [bad, says] : std::vector<std::pair<nlohmann::json, std::string>>{
           {{{"spec", "W1.58A8"}, {"int_layernorm", true}}, "\"integer\": true"},
           {{{"spec", "W1.58A8"}, {"integer", true}, {"attn_qk", "A8"}, {"attn_pv", "A8"}, {"int_layernorm", true},
             {"act_scale", "absmean"}},
            "absmax"}}) {
    try {
      quant_plan_from_json(bad, c.depth, "s.json", "/quant");
      ADD_FAILURE() << "accepted " << bad.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("/quant/int_layernorm"), std::string::npos) << e.what();
    }
  }
  // Binary activations after a LayerNorm have no absmax codes to take: refused with the layer named.
  QuantPlan w1a1 = QuantPlan::uniform(c.depth, parse_quant_spec("W1A1"));
  w1a1.attn_qk = w1a1.attn_pv = ActFormat::kInt8;
  w1a1.integer = w1a1.int_layernorm = true;
  ViTParams p(c);
  p.init_random(1);
  auto be = make_backend(ModelBackend::kReference);
  try {
    ViTRunner run(p, *be, false, &w1a1);
    ADD_FAILURE() << "an integer LayerNorm into binary activations was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("block 0's qkv takes binary"), std::string::npos) << e.what();
  }
  nlohmann::json no_attn = {{"spec", "W1.58A8"}, {"integer", true}};
  try {
    quant_plan_from_json(no_attn, c.depth, "s.json", "/quant");
    ADD_FAILURE() << "an integer plan without attention formats was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attn_qk"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/quant/integer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bb
