// The packed bit GEMMs: every weight format under every ISA path this CPU can
// run (generic, AVX2, AVX-512 VNNI) equals the plain integer reference exactly
// on odd shapes (M 1, 3, 197; K not a multiple of 8/32/64; N 1, 5, 192), the
// packing round-trips, the float epilogue applies the scales, and the fused
// activation quantiser reproduces the fake quantiser of training.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <set>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "isa_paths.hpp"
#include "core/rng.hpp"
#include "kernels/bit_gemm.hpp"
#include "core/cpu_features.hpp"
#include "core/simd.hpp"
#include "kernels/gemm_pairs.hpp"
#include "kernels/test_only/bitserial_gemm.hpp"
#include "kernels/test_only/lut_gemv.hpp"
#include "kernels/xnor_gemm.hpp"
#include "models/layers.hpp"
#include "models/quant.hpp"

namespace bb {
namespace {

constexpr WeightFormat kAll[] = {WeightFormat::kTernary, WeightFormat::kBinary, WeightFormat::kInt2, WeightFormat::kInt4,
                               WeightFormat::kInt8, WeightFormat::kTernaryRow};

std::vector<int8_t> random_codes(const WeightFormatTraits& t, int64_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<int8_t> c(static_cast<size_t>(n));
  const int span = t.max_code - t.min_code + 1;
  for (auto& v : c) {
    int x = t.min_code + static_cast<int>(r.next_u64() % static_cast<uint64_t>(span));
    if (t.format == WeightFormat::kBinary && x == 0) x = 1;
    v = static_cast<int8_t>(x);
  }
  return c;
}

std::vector<int8_t> random_acts(int64_t n, int lo, int hi, uint64_t seed) {
  Rng r(seed);
  std::vector<int8_t> a(static_cast<size_t>(n));
  for (auto& v : a) v = static_cast<int8_t>(lo + static_cast<int>(r.next_u64() % static_cast<uint64_t>(hi - lo + 1)));
  return a;
}

// acts [M, K] · codes [N, K]^T through the packed layout and bit_gemm_i32 on the active path.
std::vector<int32_t> packed_product(WeightFormat kind, const std::vector<int8_t>& codes, const std::vector<int8_t>& acts,
                                    int64_t M, int64_t N, int64_t K) {
  const float s = 1;
  BitMatrix w = pack_bit_matrix(kind, codes.data(), N, K, &s, false);
  BitActs a;
  set_acts(acts.data(), M, K, a);
  std::vector<int32_t> got(static_cast<size_t>(M * N), -1);
  bit_gemm_i32(a, w, got.data());
  return got;
}

// Runs body under each bit-GEMM path the CPU has, then restores the best.
template <class F>
void for_each_path(F&& body) {
  std::set<std::string> ran;
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    set_isa_limit(isa);
    if (active_isa() != isa) continue;
    SCOPED_TRACE(bit_gemm_path());
    for (const auto& n : test::active_path_names()) ran.insert(n);
    body();
  }
  set_isa_limit(Isa::kAvx512);
  test::check_paths_ran(ran);
}

TEST(BitGemm, PathsFollowTheIsaLimit) {
  set_isa_limit(Isa::kGeneric);
  EXPECT_STREQ(bit_gemm_path(), "generic");
  set_isa_limit(Isa::kAvx512);
  if (active_isa() == Isa::kAvx512 && cpu_features().avx512vnni) {
    EXPECT_STREQ(bit_gemm_path(), "avx512-vnni");
  }
  EXPECT_EQ(parse_isa("scalar"), Isa::kGeneric);
}

TEST(BitGemm, PackUnpackRoundTrips) {
  for (WeightFormat k : kAll) {
    const WeightFormatTraits& t = weight_traits(k);
    for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 1}, {5, 33}, {17, 100}, {33, 7}}) {
      SCOPED_TRACE(std::string(t.name) + " N " + std::to_string(N) + " K " + std::to_string(K));
      auto codes = random_codes(t, N * K, 7 + static_cast<uint64_t>(N * K));
      const float s = 0.5f;
      BitMatrix w = pack_bit_matrix(k, codes.data(), N, K, &s, false);
      EXPECT_EQ(w.Kp % kBitKAlign, 0);
      EXPECT_EQ(w.data.size(), static_cast<size_t>(w.blocks * w.Kp * t.kernel_bits * 16 / 8));
      std::vector<int8_t> back(codes.size());
      unpack_bit_matrix(w, back.data());
      EXPECT_EQ(back, codes);
      EXPECT_EQ(w.scale_at(N - 1), 0.5f);
    }
  }
}

TEST(BitGemm, CodesOutsideTheFormatAreRefused) {
  const int8_t two = 2, zero = 0, nine = 9;
  const float s = 1;
  EXPECT_THROW(pack_bit_matrix(WeightFormat::kTernary, &two, 1, 1, &s, false), Error);
  EXPECT_THROW(pack_bit_matrix(WeightFormat::kBinary, &zero, 1, 1, &s, false), Error);
  EXPECT_THROW(pack_bit_matrix(WeightFormat::kInt4, &nine, 1, 1, &s, false), Error);
  BitActs a;
  const int8_t lowest = -128;  // an A8 code (absmean reaches it): taken
  EXPECT_NO_THROW(set_acts(&lowest, 1, 1, a));
  EXPECT_EQ(a.row(0)[0], -128);
}

// Every path, every format, odd shapes: exact integer equality with the
// reference. M 1-3 take the GEMV kernel, 197 the tiled one; K up to 1 536 (a
// DeiT-Small fc2).
TEST(BitGemm, EveryPathEqualsTheReferenceOnOddShapes) {
  const int64_t Ms[] = {1, 2, 3, 197}, Ks[] = {1, 7, 33, 100, 200, 1536}, Ns[] = {1, 5, 192};
  for_each_path([&] {
    for (WeightFormat kind : kAll) {
      const WeightFormatTraits& t = weight_traits(kind);
      for (int64_t M : Ms)
        for (int64_t K : Ks)
          for (int64_t N : Ns) {
            SCOPED_TRACE(std::string(t.name) + " M " + std::to_string(M) + " K " + std::to_string(K) + " N " +
                         std::to_string(N));
            auto codes = random_codes(t, N * K, static_cast<uint64_t>(M * 1000 + K * 10 + N));
            auto acts = random_acts(M * K, -128, 127, static_cast<uint64_t>(M + K + N));
            std::vector<int32_t> want(static_cast<size_t>(M * N));
            bit_gemm_reference(acts.data(), codes.data(), M, N, K, want.data());
            ASSERT_EQ(packed_product(kind, codes, acts, M, N, K), want);
          }
    }
  });
}

// Every row of the pair table (kernels/gemm_pairs.hpp): the kernel it names,
// fed by the activation quantiser of its format under both rules and by
// weight codes of its format (extremes included), equals the integer reference
// on odd shapes on every path, and its float output applies the scales.
TEST(GemmPairs, EveryPairsKernelEqualsTheReferenceOnEveryPath) {
  for_each_path([&] {
    for (const GemmPairTraits& p : gemm_pairs())
      for (ActScale rule : {ActScale::kAbsMax, ActScale::kAbsMean})
        for (auto [M, K, N] : {std::array<int64_t, 3>{1, 7, 5}, {3, 100, 37}, {37, 65, 33}}) {
          const WeightFormatTraits& wt = weight_traits(p.w);
          const GemmKernelTraits& kt = p.traits();
          SCOPED_TRACE(std::string(wt.name) + " × " + act_traits(p.a).name + " " + act_scale_name(rule) + " on " +
                       kt.name + " (" + kt.path() + ") M " + std::to_string(M) + " K " + std::to_string(K));
          Rng r(static_cast<uint64_t>(M * 1000 + K));
          std::vector<float> x(static_cast<size_t>(M * K));
          for (auto& v : x) v = static_cast<float>(r.normal());
          x[0] = -50.0f;  // an outlier: absmean's code -Q-1
          BitActs a;
          quantize_acts(x.data(), M, K, p.a, a, -1, rule);
          ASSERT_EQ(a.format, p.a);
          std::vector<int8_t> acts(static_cast<size_t>(M * K));
          for (int64_t m = 0; m < M; ++m)
            for (int64_t k = 0; k < K; ++k) {
              ASSERT_TRUE(act_traits(p.a).holds(a.row(m)[k]));
              acts[static_cast<size_t>(m * K + k)] = a.row(m)[k];
            }
          auto codes = random_codes(wt, N * K, static_cast<uint64_t>(N + K));
          codes[0] = static_cast<int8_t>(wt.min_code);
          std::vector<float> scales(static_cast<size_t>(N));
          for (auto& s : scales) s = static_cast<float>(0.1 + r.uniform());
          GemmWeights w;
          kt.pack(wt, codes.data(), N, K, scales.data(), w);
          std::vector<int32_t> want(static_cast<size_t>(M * N)), got(want.size(), -1);
          bit_gemm_reference(acts.data(), codes.data(), M, N, K, want.data());
          kt.gemm_i32(a, w, got.data());
          ASSERT_EQ(got, want);
          std::vector<float> y(want.size());
          kt.gemm(a, w, nullptr, y.data());
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) {
              const double e = static_cast<double>(want[static_cast<size_t>(m * N + n)]) *
                               scales[wt.per_row ? static_cast<size_t>(n) : 0] * a.mul[static_cast<size_t>(m)];
              ASSERT_NEAR(y[static_cast<size_t>(m * N + n)], e, 1e-5 * (1 + std::fabs(e)));
            }
        }
  });
}

// The lookup-table GEMV: exact on odd shapes (K odd, N around its 64-column
// blocks, K long enough to cross the int16 flush) under each path, extremes included.
TEST(LutGemv, EveryPathEqualsTheReferenceOnOddShapes) {
  const int64_t Ms[] = {1, 3, 8}, Ks[] = {1, 7, 33, 200, 777}, Ns[] = {1, 5, 64, 65, 192};
  const WeightFormatTraits& t = weight_traits(WeightFormat::kTernary);
  for (Isa isa : {Isa::kGeneric, Isa::kAvx512}) {
    set_isa_limit(isa);
    if (active_isa() != isa) continue;
    SCOPED_TRACE(lut_gemv_path());
    for (int64_t M : Ms)
      for (int64_t K : Ks)
        for (int64_t N : Ns) {
          SCOPED_TRACE("M " + std::to_string(M) + " K " + std::to_string(K) + " N " + std::to_string(N));
          auto codes = random_codes(t, N * K, static_cast<uint64_t>(M * 1000 + K * 10 + N));
          auto acts = random_acts(M * K, -127, 127, static_cast<uint64_t>(M + K + N));
          if (K == 777)  // all at the extremes: every pair product is ±254
            for (int64_t i = 0; i < M * K; ++i) {
              acts[static_cast<size_t>(i)] = 127;
              if (i < N * K) codes[static_cast<size_t>(i)] = 1;
            }
          std::vector<int32_t> want(static_cast<size_t>(M * N)), got(want.size(), -1);
          bit_gemm_reference(acts.data(), codes.data(), M, N, K, want.data());
          const float s = 1;
          LutMatrix w = pack_lut_matrix(codes.data(), N, K, &s, false);
          BitActs a;
          set_acts(acts.data(), M, K, a);
          lut_gemv_i32(a, w, got.data());
          ASSERT_EQ(got, want);
          std::vector<float> y(want.size()), yb(want.size());
          BitMatrix wb = pack_bit_matrix(WeightFormat::kTernary, codes.data(), N, K, &s, false);
          lut_gemv(a, w, nullptr, y.data());
          bit_gemm(a, wb, nullptr, yb.data());
          ASSERT_EQ(y, yb);
        }
  }
  set_isa_limit(Isa::kAvx512);
  const int8_t bad = 2;
  const float s = 1;
  EXPECT_THROW(pack_lut_matrix(&bad, 1, 1, &s, false), Error);
}

// The extremes of each range, where saturating int16 pair sums (AVX2) would
// show: on the GEMV kernel (M 1, 2) and the tiled one (M 4), K up to 1 536.
TEST(BitGemm, ExtremeCodesDoNotSaturate) {
  for_each_path([&] {
    for (WeightFormat kind : kAll)
      for (int64_t M : {1, 2, 4})
        for (int64_t K : {300, 1536}) {
          const WeightFormatTraits& t = weight_traits(kind);
          SCOPED_TRACE(std::string(t.name) + " M " + std::to_string(M) + " K " + std::to_string(K));
          const int64_t N = 18;
          std::vector<int8_t> codes(static_cast<size_t>(N * K)), acts(static_cast<size_t>(M * K));
          for (int64_t i = 0; i < N * K; ++i) codes[static_cast<size_t>(i)] = static_cast<int8_t>((i / K) % 2 ? t.max_code : t.min_code);
          for (int64_t i = 0; i < M * K; ++i) acts[static_cast<size_t>(i)] = static_cast<int8_t>(i / K % 2 ? 127 : -128);
          std::vector<int32_t> want(static_cast<size_t>(M * N));
          bit_gemm_reference(acts.data(), codes.data(), M, N, K, want.data());
          EXPECT_EQ(packed_product(kind, codes, acts, M, N, K), want);
        }
  });
}

// Absmean A8 clamps to the code −128 (absmax never reaches it): rows with
// one large negative outlier make it, against every weight format's codes
// (int8 down to its −128) on every path, GEMV and tiled shapes: the exact
// integer reference on the codes the quantiser produced.
TEST(BitGemm, AbsmeanA8MinusOneTwentyEightEqualsTheReference) {
  for_each_path([&] {
    for (WeightFormat kind : kAll)
      for (int64_t M : {1, 2, 3, 4, 37})
        for (int64_t K : {13, 33, 200}) {  // |x| / mean|x| ≤ K: code -128 needs K > 128.5 · 0.065
          const WeightFormatTraits& t = weight_traits(kind);
          SCOPED_TRACE(std::string(t.name) + " M " + std::to_string(M) + " K " + std::to_string(K));
          const int64_t N = 37;
          Rng r(static_cast<uint64_t>(M * 100 + K));
          std::vector<float> x(static_cast<size_t>(M * K));
          for (auto& v : x) v = static_cast<float>(r.normal());
          for (int64_t m = 0; m < M; ++m) x[static_cast<size_t>(m * K + m % K)] = -1000.0f;  // far below −128 steps
          BitActs a;
          quantize_acts(x.data(), M, K, ActFormat::kInt8, a, -1, ActScale::kAbsMean);
          std::vector<int8_t> acts(static_cast<size_t>(M * K));
          int minus128 = 0;
          for (int64_t m = 0; m < M; ++m)
            for (int64_t k = 0; k < K; ++k) {
              acts[static_cast<size_t>(m * K + k)] = a.row(m)[k];
              minus128 += a.row(m)[k] == -128;
            }
          ASSERT_EQ(minus128, M);  // one per row: the test reaches the code it is about
          auto codes = random_codes(t, N * K, static_cast<uint64_t>(K * 10 + M));
          for (int64_t n = 0; n < N; n += 2) codes[static_cast<size_t>(n * K)] = static_cast<int8_t>(t.min_code);
          std::vector<int32_t> want(static_cast<size_t>(M * N)), got(want.size(), -1);
          bit_gemm_reference(acts.data(), codes.data(), M, N, K, want.data());
          const float s = 1;
          BitMatrix w = pack_bit_matrix(kind, codes.data(), N, K, &s, false);
          bit_gemm_i32(a, w, got.data());
          ASSERT_EQ(got, want);
        }
  });
}

// Float output: acc · w_scale[n] · a_mul[m] + bias[n], per-row scales.
TEST(BitGemm, FloatOutputAppliesScalesAndBias) {
  const int64_t M = 5, N = 37, K = 70;
  Rng r(3);
  std::vector<float> x(static_cast<size_t>(M * K)), bias(static_cast<size_t>(N)), scales(static_cast<size_t>(N));
  for (auto& v : x) v = static_cast<float>(r.normal());
  for (auto& v : bias) v = static_cast<float>(r.normal());
  for (auto& v : scales) v = static_cast<float>(0.01 + r.uniform());
  auto codes = random_codes(weight_traits(WeightFormat::kTernary), N * K, 11);
  BitMatrix w = pack_bit_matrix(WeightFormat::kTernary, codes.data(), N, K, scales.data(), true);
  for_each_path([&] {
    BitActs a;
    quantize_acts(x.data(), M, K, ActFormat::kInt8, a);
    std::vector<float> y(static_cast<size_t>(M * N));
    bit_gemm(a, w, bias.data(), y.data());
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += a.row(m)[k] * codes[static_cast<size_t>(n * K + k)];
        const double want = acc * scales[static_cast<size_t>(n)] * a.mul[static_cast<size_t>(m)] + bias[static_cast<size_t>(n)];
        EXPECT_NEAR(y[static_cast<size_t>(m * N + n)], want, 1e-5 * (1 + std::fabs(want)));
      }
  });
}

// The fused quantiser's codes times its step are the fake quantiser's values, bit for bit.
TEST(BitGemm, QuantizeActsMatchesTheFakeQuantiser) {
  const int64_t M = 7, K = 45;
  Rng r(5);
  std::vector<float> x(static_cast<size_t>(M * K));
  for (auto& v : x) v = static_cast<float>(3 * r.normal());
  for (int k = 0; k < 5; ++k) x[static_cast<size_t>(3 * K + k)] = 0;  // a tie-free zero run
  for (int64_t k = 0; k < K; ++k) x[static_cast<size_t>(6 * K + k)] = 0;  // an all-zero row (ε)
  for_each_path([&] {
    for (const ActFormatTraits& t : act_format_rows())
      for (ActScale scale : {ActScale::kAbsMax, ActScale::kAbsMean}) {
        if (!t.quantizer(scale)) continue;  // fp32
        SCOPED_TRACE(std::string(t.name) + " " + act_scale_name(scale));
        std::vector<float> xq(x.size());
        t.fake_quant(x.data(), M, K, xq.data(), scale);
        BitActs a;
        quantize_acts(x.data(), M, K, t.format, a, -1, scale);
        for (int64_t m = 0; m < M; ++m) {
          int32_t sum = 0;
          for (int64_t k = 0; k < K; ++k) {
            const int c = a.row(m)[k];
            sum += c;
            ASSERT_EQ(static_cast<float>(c) * a.mul[static_cast<size_t>(m)], xq[static_cast<size_t>(m * K + k)])
                << "row " << m << " k " << k;
          }
          for (int64_t k = K; k < a.Kp; ++k) ASSERT_EQ(a.row(m)[k], 0);
          EXPECT_EQ(a.sum[static_cast<size_t>(m)], sum);
        }
      }
  });
}

// The binary quantiser's step is mean|x| summed in k order — the same float
// however many rows it takes side by side (16 at a time, a partial group
// after) — and its codes are the signs; per path, on odd shapes.
TEST(BitGemm, BinaryStepIsTheInOrderMeanAbsOnEveryRowGroup) {
  for (int64_t M : {1, 2, 16, 37})
    for (int64_t K : {1, 45, 192}) {
      Rng r(static_cast<uint64_t>(M * 1000 + K));
      std::vector<float> x(static_cast<size_t>(M * K));
      for (auto& v : x) v = static_cast<float>(3 * r.normal() + 0.25);
      for_each_path([&] {
        SCOPED_TRACE("M " + std::to_string(M) + " K " + std::to_string(K));
        BitActs a;
        quantize_acts(x.data(), M, K, ActFormat::kBinary, a);
        for (int64_t m = 0; m < M; ++m) {
          float s = 0;
          int32_t sum = 0;
          for (int64_t k = 0; k < K; ++k) {
            const float v = x[static_cast<size_t>(m * K + k)];
            s += std::fabs(v);
            const int c = v > 0 ? 1 : -1;
            sum += c;
            ASSERT_EQ(a.row(m)[k], c) << "row " << m << " k " << k;
          }
          ASSERT_EQ(a.mul[static_cast<size_t>(m)], s / static_cast<float>(K)) << "row " << m;
          EXPECT_EQ(a.sum[static_cast<size_t>(m)], sum);
        }
      });
    }
}

// SubLN fused into the quantiser: the codes, steps and sums of LayerNorm
// (weight 1, bias 0) followed by the plain quantiser, bit for bit, per path.
TEST(BitGemm, QuantizeActsWithSubLNEqualsLayerNormThenQuantize) {
  for (int64_t K : {1, 37, 192}) {
    const int64_t M = 21;
    Rng r(static_cast<uint64_t>(K));
    std::vector<float> x(static_cast<size_t>(M * K)), ln(x.size()), ones(static_cast<size_t>(K), 1.0f), zeros(ones.size(), 0.0f);
    for (auto& v : x) v = static_cast<float>(3 * r.normal() + 0.5);
    for_each_path([&] {
      SCOPED_TRACE("K " + std::to_string(K));
      layernorm_forward(x.data(), ones.data(), zeros.data(), ln.data(), M, K, 1e-6f, nullptr, nullptr);
      for (ActFormat f : {ActFormat::kInt8, ActFormat::kInt4, ActFormat::kInt2}) {
        BitActs want, got;
        quantize_acts(ln.data(), M, K, f, want);
        quantize_acts(x.data(), M, K, f, got, 1e-6f);
        ASSERT_EQ(0, std::memcmp(want.q.data(), got.q.data(), want.q.size())) << act_traits(f).name;
        EXPECT_EQ(want.mul, got.mul);
        EXPECT_EQ(want.sum, got.sum);
      }
    });
  }
}

TEST(BitGemm, MismatchedShapesAreRefused) {
  const int8_t c[4] = {1, 0, -1, 1};
  const float s = 1;
  BitMatrix w = pack_bit_matrix(WeightFormat::kTernary, c, 1, 4, &s, false);
  BitActs a;
  const int8_t x[3] = {1, 2, 3};
  set_acts(x, 1, 3, a);
  int32_t acc;
  EXPECT_THROW(bit_gemm_i32(a, w, &acc), Error);
}

// --- W1A1: XNOR + popcount --------------------------------------------------------

std::vector<int8_t> random_signs(int64_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = r.next_u64() & 1 ? 1 : -1;
  return v;
}

TEST(XnorGemm, EveryPathEqualsTheReferenceOnOddShapes) {
  const int64_t Ms[] = {1, 3, 197}, Ks[] = {1, 63, 64, 65, 200, 513}, Ns[] = {1, 5, 33, 192};
  for_each_path([&] {
    SCOPED_TRACE(xnor_gemm_path());
    for (int64_t M : Ms)
      for (int64_t K : Ks)
        for (int64_t N : Ns) {
          SCOPED_TRACE("M " + std::to_string(M) + " K " + std::to_string(K) + " N " + std::to_string(N));
          auto w = random_signs(N * K, static_cast<uint64_t>(N * 7 + K));
          auto x = random_signs(M * K, static_cast<uint64_t>(M * 13 + K));
          std::vector<int32_t> want(static_cast<size_t>(M * N)), got(want.size(), -1);
          bit_gemm_reference(x.data(), w.data(), M, N, K, want.data());
          const float s = 1;
          SignMatrix sm = pack_sign_matrix(w.data(), N, K, &s, false);
          SignActs a;
          set_signs(x.data(), M, K, a);
          xnor_gemm_i32(a, sm, got.data());
          ASSERT_EQ(got, want);
        }
  });
}

// The sign words the engine packs from the binary quantiser's codes (vector
// compare-to-mask on AVX-512, a branch-free loop elsewhere) equal set_signs'
// plain packing, on odd K (a partial last word), per path.
TEST(XnorGemm, SignWordsFromCodesEqualThePlainPacking) {
  for (int64_t K : {1, 63, 64, 65, 130, 200})
    for (int64_t M : {1, 2, 5}) {
      Rng r(static_cast<uint64_t>(K * 7 + M));
      std::vector<float> x(static_cast<size_t>(M * K));
      for (auto& v : x) v = static_cast<float>(r.normal());
      BitActs codes;
      quantize_acts(x.data(), M, K, ActFormat::kBinary, codes);
      std::vector<int8_t> pm(x.size());
      for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k) pm[static_cast<size_t>(m * K + k)] = codes.row(m)[k];
      SignActs want;
      set_signs(pm.data(), M, K, want);
      for_each_path([&] {
        SCOPED_TRACE("M " + std::to_string(M) + " K " + std::to_string(K));
        SignActs got;
        signs_from_acts(codes, got);
        EXPECT_EQ(got.words, want.words);
        EXPECT_EQ(got.mul, codes.mul);
      });
    }
}

TEST(XnorGemm, FloatOutputMatchesTheFakeQuantisedProduct) {
  const int64_t M = 6, N = 41, K = 130;
  Rng r(8);
  std::vector<float> x(static_cast<size_t>(M * K)), bias(static_cast<size_t>(N)), scales(static_cast<size_t>(N));
  for (auto& v : x) v = static_cast<float>(r.normal());
  for (auto& v : bias) v = static_cast<float>(r.normal());
  for (auto& v : scales) v = static_cast<float>(0.01 + r.uniform());
  auto w = random_signs(N * K, 4);
  SignMatrix sm = pack_sign_matrix(w.data(), N, K, scales.data(), true);
  std::vector<float> xq(x.size());
  act_traits(ActFormat::kBinary).fake_quant(x.data(), M, K, xq.data());
  for_each_path([&] {
    SignActs a;
    quantize_signs(x.data(), M, K, a);
    std::vector<float> y(static_cast<size_t>(M * N));
    xnor_gemm(a, sm, bias.data(), y.data());
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double want = 0;
        for (int64_t k = 0; k < K; ++k) want += static_cast<double>(xq[static_cast<size_t>(m * K + k)]) * w[static_cast<size_t>(n * K + k)];
        want = want * scales[static_cast<size_t>(n)] + bias[static_cast<size_t>(n)];
        EXPECT_NEAR(y[static_cast<size_t>(m * N + n)], want, 1e-4 * (1 + std::fabs(want)));
      }
  });
  const int8_t zero = 0;
  const float one = 1;
  EXPECT_THROW(pack_sign_matrix(&zero, 1, 1, &one, false), Error);
}

// --- bit-serial WkAk ------------------------------------------------------------------

TEST(BitserialGemm, EveryPathEqualsTheReferenceForEachWeightAndActivationWidth) {
  const WeightFormat weights[] = {WeightFormat::kTernary, WeightFormat::kBinary, WeightFormat::kInt2, WeightFormat::kInt4};
  const ActFormat acts[] = {ActFormat::kInt4, ActFormat::kInt2, ActFormat::kBinary};
  const int64_t Ms[] = {1, 3, 37}, Ks[] = {1, 65, 200}, Ns[] = {1, 5, 33};
  for_each_path([&] {
    SCOPED_TRACE(bitserial_gemm_path());
    for (WeightFormat wf : weights) {
      const WeightFormatTraits& t = weight_traits(wf);
      for (ActFormat af : acts)
        for (int64_t M : Ms)
          for (int64_t K : Ks)
            for (int64_t N : Ns) {
              const ActFormatTraits& at = act_traits(af);
              SCOPED_TRACE(std::string(t.name) + " " + at.name + " M " + std::to_string(M) + " K " +
                           std::to_string(K) + " N " + std::to_string(N));
              auto codes = random_codes(t, N * K, static_cast<uint64_t>(N + K * 3));
              auto x = at.no_zero ? random_signs(M * K, static_cast<uint64_t>(M + K))
                                  : random_acts(M * K, at.min_code, at.max_code, static_cast<uint64_t>(M * 5 + K));
              std::vector<int32_t> want(static_cast<size_t>(M * N)), got(want.size(), -1);
              bit_gemm_reference(x.data(), codes.data(), M, N, K, want.data());
              const float s = 1;
              PlaneMatrix w = pack_plane_matrix(t, codes.data(), N, K, &s, false);
              BitActs a;
              set_acts(x.data(), M, K, a);
              a.format = af;
              PlaneActs pa;
              planes_from_acts(a, pa);
              bitserial_gemm_i32(pa, w, got.data());
              ASSERT_EQ(got, want);
            }
    }
  });
  BitActs a8;
  const int8_t one = 1;
  set_acts(&one, 1, 1, a8);
  PlaneActs pa;
  EXPECT_THROW(planes_from_acts(a8, pa), Error);  // 8-bit activations are not bit-serial
}

}  // namespace
}  // namespace bb
