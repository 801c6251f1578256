// The activation-format rows of kernels/quant_format.hpp and their one
// quantiser: codes, step and code sum per row. The fake-quant forward
// (training, `validate --backend onednn`) and the integer kernels' input
// (quantize_acts) are both this body, so their codes cannot drift apart.
#include <algorithm>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "kernels/act_quant.hpp"
#include "kernels/layernorm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/quant_format.hpp"
#include "core/simd.hpp"

namespace bb {
namespace {

constexpr float kEps = 1e-5f;

typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef int8_t i8x16 __attribute__((vector_size(16)));

// Horizontal max and integer sum of 16 lanes as a tree of shuffles (both exact
// in any order), instead of 16 dependent scalar steps per row. (By reference:
// no vector-by-value ABI between ISA targets.)
BB_INLINE float hmax16(const f32x16& in) {
  f32x16 v = in;
  f32x16 t = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  v = t > v ? t : v;
  t = __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  v = t > v ? t : v;
  t = __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v = t > v ? t : v;
  t = __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  v = t > v ? t : v;
  return v[0];
}
// (Float lanes: a fixed tree, the same float on every path.)
template <class V>
BB_INLINE auto hsum16(const V& in) {
  V v = in;
  v += __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v += __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  return v[0];
}

// kbit: rows of x [M, K] → codes [M, ld] (zero from K to ld),
//   absmax:  s = Q / max(max|x|, eps);            step = 1 / s
//   absmean: step = kappa · max(mean|x|, eps);    s = 1 / step
// code = clip(round(x · s), -Q-1, Q). Written on 16-lane vectors (GCC would
// not vectorise the scalar reductions by itself); the magic-number add rounds
// half to even for |v| < 2^22. Rows go in groups of 16: their statistics
// first, then one vector division gives the 16 scales and steps (each lane the
// same IEEE division as a scalar one), then the codes. The mean's sum is a
// fixed tree (16 lanes, then the tail in order): the same float on every path.
template <int Q, bool kMean>
BB_INLINE void act_kbit_rows(const float* __restrict x, int64_t M, int64_t K, int64_t ld, int8_t* __restrict q,
                             float* mul, int32_t* sum, float kappa) {
  const f32x16 lo = {}, magic = lo + 12582912.0f, vlo = lo + (-Q - 1.0f), vhi = lo + static_cast<float>(Q);
  for (int64_t m0 = 0; m0 < M; m0 += 16) {
    const int64_t rows = M - m0 < 16 ? M - m0 : 16;
    f32x16 mxs = lo + 1.0f;  // lanes past the last row: any positive value
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + (m0 + r) * K;
      f32x16 vmx = {};
      int64_t k = 0;
      for (; k + 16 <= K; k += 16) {
        f32x16 a = BB_LOAD16(xr + k);
        a = a < 0 ? -a : a;
        if constexpr (kMean) vmx += a;
        else vmx = a > vmx ? a : vmx;
      }
      float mx = kMean ? hsum16(vmx) : hmax16(vmx);
      for (; k < K; ++k) {
        const float a = xr[k] < 0 ? -xr[k] : xr[k];
        if constexpr (kMean) mx += a;
        else mx = a > mx ? a : mx;
      }
      mxs[r] = kMean ? mx / static_cast<float>(K) : mx;
    }
    const f32x16 stat = mxs > kEps ? mxs : lo + kEps;
    f32x16 vs, vinv;
    if constexpr (kMean) {
      vinv = stat * kappa;
      vs = 1.0f / vinv;
    } else {
      vs = static_cast<float>(Q) / stat;
      vinv = 1.0f / vs;
    }
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t m = m0 + r;
      const float* xr = x + m * K;
      int8_t* qr = q + m * ld;
      const float s = vs[r];
      const f32x16 vsr = lo + s;
      i32x16 vsum = {};
      int64_t k = 0;
      for (; k + 16 <= K; k += 16) {
        f32x16 v = (BB_LOAD16(xr + k) * vsr + magic) - magic;
        v = v < vlo ? vlo : v;
        v = v > vhi ? vhi : v;
        const i32x16 c = __builtin_convertvector(v, i32x16);
        vsum += c;
        const i8x16 b = __builtin_convertvector(c, i8x16);
        std::memcpy(qr + k, &b, 16);
      }
      int32_t acc = hsum16(vsum);
      for (; k < K; ++k) {
        float v = (xr[k] * s + 12582912.0f) - 12582912.0f;
        v = v < -Q - 1.0f ? -Q - 1.0f : v;
        v = v > Q ? static_cast<float>(Q) : v;
        const int32_t c = static_cast<int32_t>(v);
        qr[k] = static_cast<int8_t>(c);
        acc += c;
      }
      if (ld > K) std::memset(qr + K, 0, static_cast<size_t>(ld - K));
      mul[m] = vinv[r];
      sum[m] = acc;
    }
  }
}
// The absmean step as a multiple of mean|x|: the MSE-optimal step for a
// Gaussian and a Laplacian input lie at 1.31 / 1.72 (A2), 0.42 / 0.66 (A4),
// 0.05 / 0.08 (A8); each row takes about their middle.
constexpr float kAbsmeanStep8 = 0.065f, kAbsmeanStep4 = 0.5f, kAbsmeanStep2 = 1.5f;
#define BB_ACT_KBIT(name, Q, MEAN, KAPPA)                                                                          \
  BB_INLINE void name##_body(const float* x, int64_t M, int64_t K, int64_t ld, int8_t* q, float* mul, int32_t* sum) { \
    act_kbit_rows<Q, MEAN>(x, M, K, ld, q, mul, sum, KAPPA);                                                        \
  }
BB_ACT_KBIT(act8, 127, false, 0.0f)
BB_ACT_KBIT(act4, 7, false, 0.0f)
BB_ACT_KBIT(act2, 1, false, 0.0f)
BB_ACT_KBIT(act8m, 127, true, kAbsmeanStep8)
BB_ACT_KBIT(act4m, 7, true, kAbsmeanStep4)
BB_ACT_KBIT(act2m, 1, true, kAbsmeanStep2)
#undef BB_ACT_KBIT
// Binary: code = sign (x > 0 → +1), one step = mean|x| (summed in order).
BB_INLINE void act1_body(const float* __restrict x, int64_t M, int64_t K, int64_t ld, int8_t* __restrict q, float* mul,
                         int32_t* sum) {
  // Σ|x| of 16 rows side by side: each row's sum keeps its order (the same
  // float), but 16 independent chains hide the add latency that one serial
  // chain per row waits on (measured: the quantiser was 2x the XNOR GEMM).
  constexpr int64_t G = 16;
  float sums[G];
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * K;
    int8_t* qr = q + m * ld;
    if (m % G == 0) {
      const int64_t g = std::min(G, M - m);
      for (int64_t r = 0; r < G; ++r) sums[r] = 0;
      if (g == G) {
        for (int64_t k = 0; k < K; ++k)
          for (int64_t r = 0; r < G; ++r) {
            const float v = xr[r * K + k];
            sums[r] += v < 0 ? -v : v;
          }
      } else {
        for (int64_t r = 0; r < g; ++r)
          for (int64_t k = 0; k < K; ++k) sums[r] += xr[r * K + k] < 0 ? -xr[r * K + k] : xr[r * K + k];
      }
    }
    const float s = sums[m % G];
    int32_t acc = 0;
    for (int64_t k = 0; k < K; ++k) {
      const int32_t c = xr[k] > 0 ? 1 : -1;
      qr[k] = static_cast<int8_t>(c);
      acc += c;
    }
    for (int64_t k = K; k < ld; ++k) qr[k] = 0;
    mul[m] = s / static_cast<float>(K);
    sum[m] = acc;
  }
}
#define BB_ACT(name) \
  BB_MULTIVERSION(name, (const float* x, int64_t M, int64_t K, int64_t ld, int8_t* q, float* mul, int32_t* sum), \
                  (x, M, K, ld, q, mul, sum))
BB_ACT(act8)
BB_ACT(act4)
BB_ACT(act2)
BB_ACT(act8m)
BB_ACT(act4m)
BB_ACT(act2m)
BB_ACT(act1)
#undef BB_ACT

// Rows of x [M, K] quantised in parallel chunks of 64 into per-thread scratch,
// each chunk then handed to body(first row, rows, codes [rows, K], mul [rows]).
// The result does not depend on the thread count.
template <class Body>
void for_quantized_chunks(ActQuantizeFn quantize, const float* x, int64_t M, int64_t K, const Body& body) {
  constexpr int64_t kRows = 64;
#pragma omp parallel for schedule(static) if (parallel_pays(M * K))
  for (int64_t m = 0; m < M; m += kRows) {
    const int64_t rows = std::min(kRows, M - m);
    thread_local std::vector<int8_t> codes;
    thread_local std::vector<float> mul;
    thread_local std::vector<int32_t> sum;
    codes.resize(static_cast<size_t>(kRows * K));
    mul.resize(kRows);
    sum.resize(kRows);
    quantize(x + m * K, rows, K, K, codes.data(), mul.data(), sum.data());
    body(m, rows, codes.data(), mul.data());
  }
}

// xq = codes · step.
template <ActQuantizeFn Quantize>
void fake_quant_rows(const float* x, int64_t M, int64_t K, float* xq) {
  for_quantized_chunks(Quantize, x, M, K, [&](int64_t m, int64_t rows, const int8_t* codes, const float* mul) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < K; ++k) xq[(m + r) * K + k] = static_cast<float>(codes[r * K + k]) * mul[r];
  });
}
void fake_quant_f32(const float* x, int64_t M, int64_t K, float* xq) { std::copy(x, x + M * K, xq); }

// One row per format, in enum order: the spec | its codes and their unsigned
// form | the absmean step and the clipped STE's range | the quantisers.
constexpr ActFormatTraits kActFormats[] = {
    {.format = ActFormat::kF32, .token = "", .name = "fp32", .bits = 32, .qmax = 0,
     .min_code = 0, .max_code = 0, .no_zero = false, .offset = 0, .ushift = 0,
     .absmean_step = 0.0f, .ste_lo = 0.0f, .ste_hi = 0.0f,
     .quantize = {nullptr, nullptr}, .fake_quant_fn = {fake_quant_f32, fake_quant_f32}},
    {.format = ActFormat::kInt8, .token = "8", .name = "int8", .bits = 8, .qmax = 127,
     .min_code = -128, .max_code = 127, .no_zero = false, .offset = 128, .ushift = 0,
     .absmean_step = kAbsmeanStep8, .ste_lo = -128.5f, .ste_hi = 127.5f,
     .quantize = {act8, act8m}, .fake_quant_fn = {fake_quant_rows<act8>, fake_quant_rows<act8m>}},
    {.format = ActFormat::kInt4, .token = "4", .name = "int4", .bits = 4, .qmax = 7,
     .min_code = -8, .max_code = 7, .no_zero = false, .offset = 8, .ushift = 0,
     .absmean_step = kAbsmeanStep4, .ste_lo = -8.5f, .ste_hi = 7.5f,
     .quantize = {act4, act4m}, .fake_quant_fn = {fake_quant_rows<act4>, fake_quant_rows<act4m>}},
    {.format = ActFormat::kInt2, .token = "2", .name = "int2", .bits = 2, .qmax = 1,
     .min_code = -2, .max_code = 1, .no_zero = false, .offset = 2, .ushift = 0,
     .absmean_step = kAbsmeanStep2, .ste_lo = -2.5f, .ste_hi = 1.5f,
     .quantize = {act2, act2m}, .fake_quant_fn = {fake_quant_rows<act2>, fake_quant_rows<act2m>}},
    // Binary: the step is mean|x| under either rule; x̃ = ±step, so the STE's range is one step each side.
    {.format = ActFormat::kBinary, .token = "1", .name = "binary", .bits = 1, .qmax = 1,
     .min_code = -1, .max_code = 1, .no_zero = true, .offset = 1, .ushift = 1,
     .absmean_step = 1.0f, .ste_lo = -1.0f, .ste_hi = 1.0f,
     .quantize = {act1, act1}, .fake_quant_fn = {fake_quant_rows<act1>, fake_quant_rows<act1>}},
};
static_assert(std::size(kActFormats) == static_cast<size_t>(ActFormat::kBinary) + 1 && in_enum_order(kActFormats),
              "one row per format, in enum order");

}  // namespace

const ActFormatTraits& act_traits(ActFormat f) { return kActFormats[static_cast<int>(f)]; }

void act_ste_clip_mask(const ActFormatTraits& t, ActScale s, const float* x, int64_t M, int64_t K, float* dx) {
  const ActQuantizeFn quantize = t.quantizer(s);
  if (!quantize) return;
  // The rows' steps as the forward's quantiser set them.
  for_quantized_chunks(quantize, x, M, K, [&](int64_t m, int64_t rows, const int8_t*, const float* mul) {
    for (int64_t r = 0; r < rows; ++r) {
      const float lo = t.ste_lo * mul[r], hi = t.ste_hi * mul[r];
      const float* xr = x + (m + r) * K;
      float* dr = dx + (m + r) * K;
      // A select, not a branch: a binary row clips about 40 % of its inputs at random.
      for (int64_t k = 0; k < K; ++k) dr[k] = ((xr[k] >= lo) & (xr[k] <= hi)) ? dr[k] : 0.0f;
    }
  });
}

std::span<const ActFormatTraits> act_format_rows() { return kActFormats; }

std::string act_format_tokens() {
  std::string out;
  for (const auto& t : kActFormats)
    if (*t.token) out += (out.empty() ? "" : ", ") + std::string("A") + t.token;
  return out;
}

bool act_format_from_token(const std::string& token, ActFormat& out) {
  const ActFormatTraits* t = find_by_token(kActFormats, token);
  if (t) out = t->format;
  return t != nullptr;
}

const char* act_scale_name(ActScale s) { return s == ActScale::kAbsMean ? "absmean" : "absmax"; }
bool act_scale_from_name(const std::string& name, ActScale& out) {
  for (ActScale s : {ActScale::kAbsMax, ActScale::kAbsMean})
    if (name == act_scale_name(s)) {
      out = s;
      return true;
    }
  return false;
}

void quantize_acts(const float* x, int64_t M, int64_t K, ActFormat format, BitActs& out, float subln_eps,
                   ActScale scale) {
  const ActFormatTraits& row = act_traits(format);
  const ActQuantizeFn quantize = row.quantizer(scale);
  if (!quantize) throw Error::usage(std::string("quantize_acts: ") + row.name + " activations have no integer codes");
  int8_t* q = out.reshape(M, K, format);
  constexpr int64_t kRows = 16;
  parallel_tasks((M + kRows - 1) / kRows, M * K > 16384, [&](int64_t t) {
    const int64_t m = t * kRows, rows = std::min(kRows, M - m);
    const float* src = x + m * K;
    if (subln_eps >= 0) {  // normalised rows of this task, [rows, K]
      thread_local std::vector<float> norm;
      norm.resize(static_cast<size_t>(kRows * K));
      layernorm_rows(src, nullptr, nullptr, norm.data(), rows, K, subln_eps, nullptr, nullptr);
      src = norm.data();
    }
    quantize(src, rows, K, out.Kp, q + m * out.Kp, out.mul.data() + m, out.sum.data() + m);
  });
}

void set_acts(const int8_t* a, int64_t M, int64_t K, BitActs& out) {
  out.M = M;
  out.K = K;
  out.Kp = bit_padded_k(K);
  out.format = ActFormat::kInt8;  // every int8 value is an A8 code (absmean reaches -128)
  out.q.resize(static_cast<size_t>(M * out.Kp));
  std::memset(out.q.data(), 0, out.q.size());
  out.mul.assign(static_cast<size_t>(M), 1.0f);
  out.sum.assign(static_cast<size_t>(M), 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      reinterpret_cast<int8_t*>(out.q.data())[m * out.Kp + k] = a[m * K + k];
      out.sum[static_cast<size_t>(m)] += a[m * K + k];
    }
}

}  // namespace bb
