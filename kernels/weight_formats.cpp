// The weight-format rows of kernels/quant_format.hpp: quantisers, file
// storage, kernel layout — and the lookups by token and storage name.
#include <algorithm>
#include <cmath>
#include <iterator>

#include "core/error.hpp"
#include "kernels/quant_format.hpp"

namespace bb {
namespace {

constexpr float kEps = 1e-5f;

float round_even(float v) { return std::nearbyint(v); }  // default rounding mode: half to even

// --- quantisers ----------------------------------------------------------------

float mean_abs(const float* w, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(w[i]);
  return n > 0 ? static_cast<float>(s / static_cast<double>(n)) : 0.0f;
}

void ternary_codes(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales) {
  const float g = mean_abs(w, N * K);
  for (int64_t i = 0; i < N * K; ++i) codes[i] = static_cast<int8_t>(std::clamp(round_even(w[i] / (g + kEps)), -1.0f, 1.0f));
  scales[0] = g;
}

// BitNet's absmean quantiser with one γ per output row instead of one per
// matrix: rows of very different norms (q, k and v of a fused qkv) each get
// their own threshold and step.
void ternary_row_codes(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales) {
  for (int64_t n = 0; n < N; ++n) ternary_codes(w + n * K, 1, K, codes + n * K, scales + n);
}

void binary_codes(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales) {
  double m = 0;
  for (int64_t i = 0; i < N * K; ++i) m += w[i];
  const float mean = N * K > 0 ? static_cast<float>(m / static_cast<double>(N * K)) : 0.0f;
  for (int64_t i = 0; i < N * K; ++i) codes[i] = w[i] - mean > 0 ? 1 : -1;
  scales[0] = mean_abs(w, N * K);
}

template <int Q>
void kbit_codes(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales) {
  for (int64_t n = 0; n < N; ++n) {
    float mx = 0;
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, std::fabs(w[n * K + k]));
    const float s = mx / Q;
    for (int64_t k = 0; k < K; ++k)
      codes[n * K + k] = s > 0 ? static_cast<int8_t>(std::clamp(round_even(w[n * K + k] / s), float(-Q), float(Q))) : 0;
    scales[n] = s;
  }
}

void f32_codes(const float*, int64_t, int64_t, int8_t*, float*) {
  throw Error::usage("fp32 weights have no integer codes");
}

// --- file storage --------------------------------------------------------------

// Ternary base 3: five codes per byte.
void pack_tq1(const int8_t* c, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; i += 5) {
    int v = 0;
    for (int j = 4; j >= 0; --j) v = v * 3 + (i + j < n ? c[i + j] + 1 : 1);  // padding codes are 0
    out[i / 5] = static_cast<uint8_t>(v);
  }
}
void unpack_tq1(const uint8_t* in, int64_t n, int8_t* c) {
  for (int64_t i = 0; i < n; i += 5) {
    int v = in[i / 5];
    for (int j = 0; j < 5; ++j, v /= 3)
      if (i + j < n) c[i + j] = static_cast<int8_t>(v % 3 - 1);
  }
}

// Fixed-width fields: `Bits` bits per code stored as code + Bias.
template <int Bits, int Bias>
void pack_bits(const int8_t* c, int64_t n, uint8_t* out) {
  constexpr int per = 8 / Bits;
  for (int64_t i = 0; i < n; i += per) {
    unsigned v = 0;
    for (int j = 0; j < per; ++j) v |= static_cast<unsigned>(i + j < n ? c[i + j] + Bias : Bias) << (j * Bits);
    out[i / per] = static_cast<uint8_t>(v);
  }
}
template <int Bits, int Bias>
void unpack_bits(const uint8_t* in, int64_t n, int8_t* c) {
  constexpr int per = 8 / Bits;
  constexpr unsigned mask = (1u << Bits) - 1;
  for (int64_t i = 0; i < n; ++i) c[i] = static_cast<int8_t>(static_cast<int>((in[i / per] >> ((i % per) * Bits)) & mask) - Bias);
}

// Binary: bit set for +1.
void pack_b1(const int8_t* c, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; i += 8) {
    unsigned v = 0;
    for (int j = 0; j < 8 && i + j < n; ++j) v |= (c[i + j] > 0 ? 1u : 0u) << j;
    out[i / 8] = static_cast<uint8_t>(v);
  }
}
void unpack_b1(const uint8_t* in, int64_t n, int8_t* c) {
  for (int64_t i = 0; i < n; ++i) c[i] = (in[i / 8] >> (i % 8)) & 1 ? 1 : -1;
}

void pack_q8(const int8_t* c, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(c[i]);
}
void unpack_q8(const uint8_t* in, int64_t n, int8_t* c) {
  for (int64_t i = 0; i < n; ++i) c[i] = static_cast<int8_t>(in[i]);
}

// One row per format, in enum order: the spec | the quantiser | the codes it
// holds | the file storage | the bit-kernel layout.
constexpr WeightFormatTraits kWeightFormats[] = {
    {.format = WeightFormat::kF32, .token = "", .name = "fp32", .bits = 32.0,
     .qmax = 0, .per_row = false, .clips = false, .eps = 0.0f, .codes = f32_codes,
     .min_code = 0, .max_code = 0, .no_zero = false,
     .storage = "", .storage_bits = 32.0, .block = 1, .block_bytes = 4, .pack = nullptr, .unpack = nullptr,
     .kernel_bits = 0, .offset = 0, .ushift = 0},
    {.format = WeightFormat::kTernary, .token = "1.58", .name = "ternary", .bits = 1.584962500721156,
     .qmax = 1, .per_row = false, .clips = true, .eps = kEps, .codes = ternary_codes,
     .min_code = -1, .max_code = 1, .no_zero = false,
     .storage = "tq1", .storage_bits = 1.6, .block = 5, .block_bytes = 1, .pack = pack_tq1, .unpack = unpack_tq1,
     .kernel_bits = 2, .offset = 1, .ushift = 0},
    {.format = WeightFormat::kBinary, .token = "1", .name = "binary", .bits = 1.0,
     .qmax = 1, .per_row = false, .clips = false, .eps = 0.0f, .codes = binary_codes,
     .min_code = -1, .max_code = 1, .no_zero = true,
     .storage = "b1", .storage_bits = 1.0, .block = 8, .block_bytes = 1, .pack = pack_b1, .unpack = unpack_b1,
     .kernel_bits = 1, .offset = 1, .ushift = 1},
    {.format = WeightFormat::kInt2, .token = "2", .name = "int2", .bits = 2.0,
     .qmax = 1, .per_row = true, .clips = false, .eps = 0.0f, .codes = kbit_codes<1>,
     .min_code = -2, .max_code = 1, .no_zero = false,
     .storage = "q2", .storage_bits = 2.0, .block = 4, .block_bytes = 1, .pack = pack_bits<2, 2>, .unpack = unpack_bits<2, 2>,
     .kernel_bits = 2, .offset = 2, .ushift = 0},
    {.format = WeightFormat::kInt4, .token = "4", .name = "int4", .bits = 4.0,
     .qmax = 7, .per_row = true, .clips = false, .eps = 0.0f, .codes = kbit_codes<7>,
     .min_code = -8, .max_code = 7, .no_zero = false,
     .storage = "q4", .storage_bits = 4.0, .block = 2, .block_bytes = 1, .pack = pack_bits<4, 8>, .unpack = unpack_bits<4, 8>,
     .kernel_bits = 4, .offset = 8, .ushift = 0},
    {.format = WeightFormat::kInt8, .token = "8", .name = "int8", .bits = 8.0,
     .qmax = 127, .per_row = true, .clips = false, .eps = 0.0f, .codes = kbit_codes<127>,
     .min_code = -128, .max_code = 127, .no_zero = false,
     .storage = "q8", .storage_bits = 8.0, .block = 1, .block_bytes = 1, .pack = pack_q8, .unpack = unpack_q8,
     .kernel_bits = 8, .offset = 128, .ushift = 0},
    {.format = WeightFormat::kTernaryRow, .token = "1.58r", .name = "ternary per row", .bits = 1.584962500721156,
     .qmax = 1, .per_row = true, .clips = true, .eps = kEps, .codes = ternary_row_codes,
     .min_code = -1, .max_code = 1, .no_zero = false,
     .storage = "tq1r", .storage_bits = 1.6, .block = 5, .block_bytes = 1, .pack = pack_tq1, .unpack = unpack_tq1,
     .kernel_bits = 2, .offset = 1, .ushift = 0},
};
static_assert(std::size(kWeightFormats) == static_cast<size_t>(WeightFormat::kTernaryRow) + 1 &&
                  in_enum_order(kWeightFormats),
              "one row per format, in enum order");

// One field of every row that has it, joined with ", ", each after prefix (for messages).
std::string joined(const char* WeightFormatTraits::*field, const char* prefix) {
  std::string out;
  for (const auto& t : kWeightFormats)
    if (*(t.*field)) out += (out.empty() ? "" : ", ") + std::string(prefix) + t.*field;
  return out;
}

}  // namespace

const WeightFormatTraits& weight_traits(WeightFormat f) { return kWeightFormats[static_cast<int>(f)]; }

const WeightFormatTraits& weight_traits_by_storage(const std::string& storage) {
  for (const auto& t : kWeightFormats)
    if (*t.storage && storage == t.storage) return t;
  throw Error::usage("unknown packed weight format \"" + storage + "\" (known: " +
                     joined(&WeightFormatTraits::storage, "") + ")");
}

std::string weight_format_tokens() { return joined(&WeightFormatTraits::token, "W"); }

std::span<const WeightFormatTraits> weight_format_rows() { return kWeightFormats; }

bool weight_format_from_token(const std::string& token, WeightFormat& out) {
  const WeightFormatTraits* t = find_by_token(kWeightFormats, token);
  if (t) out = t->format;
  return t != nullptr;
}

int64_t row_bytes(const WeightFormatTraits& t, int64_t K) { return (K + t.block - 1) / t.block * t.block_bytes; }

void fake_quant_weights(const WeightFormatTraits& t, const float* w, int64_t N, int64_t K, int8_t* codes, float* wq,
                        float* scales) {
  if (t.format == WeightFormat::kF32) {
    std::copy(w, w + N * K, wq);
    scales[0] = 1.0f;
    return;
  }
  t.codes(w, N, K, codes, scales);
  for (int64_t n = 0; n < N; ++n) {
    const float s = scales[t.per_row ? n : 0];
    for (int64_t k = 0; k < K; ++k) wq[n * K + k] = static_cast<float>(codes[n * K + k]) * s;
  }
}

void ste_clip_mask(const WeightFormatTraits& t, const float* w, int64_t N, int64_t K, const float* scales, float* dw) {
  if (!t.clips) return;
  const float limit = static_cast<float>(t.qmax) + 0.5f;
  for (int64_t n = 0; n < N; ++n) {
    const float s = scales[t.per_row ? n : 0] + t.eps;  // the quantiser divides by (scale + eps)
    for (int64_t k = 0; k < K; ++k)
      if (std::fabs(w[n * K + k]) > limit * s) dw[n * K + k] = 0;
  }
}

}  // namespace bb
