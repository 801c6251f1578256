#pragma once
// Quant formats as data (ggml's type traits): one enum and one row per weight
// format and one per activation format, holding every fact about the format —
// its spec token, bits, code range, quantiser (with the STE's clipping rule),
// how a file stores its codes and how the bit kernels lay them out. Models,
// the packed export, the engine and the reports read these rows; nothing
// translates between parallel enums.
//
// Weights (per matrix W[N, K], PyTorch Linear layout):
//   ternary (W1.58): γ = mean|W|; code = clip(round(W / (γ + 1e-5)), -1, 1); W̃ = code · γ
//   ternary per row (W1.58r): the same with γ[n] = mean|W[n]| per output row
//                     (N scales in the file: 32 / K more bits per weight)
//   binary  (W1):    β = mean|W|; code = W - mean(W) > 0 ? +1 : -1;      W̃ = code · β
//   kbit    (W2/4/8): per output row n, s = max|W[n]| / Q (Q = 2^(k-1) - 1);
//                     code = clip(round(W / s), -Q, Q); W̃ = code · s
// Activations (per token, i.e. per row of x[M, K]):
//   kbit (A8/4/2): s = Q / max(max|x|, 1e-5); code = clip(round(x · s), -Q-1, Q); x̃ = code / s
//     absmean rule (a plan's act_scale): step = κ · max(mean|x|, 1e-5), s = 1 / step,
//     κ the row's absmean_step (A2 1.5, A4 0.5, A8 0.065): absmax leaves
//     A2 nearly all zeros (only |x| > max/2 codes), absmean spends its codes
//     where the values are
//   binary (A1):   s = mean|x|; code = x > 0 ? +1 : -1; x̃ = code · s (either rule)
// Rounding is half to even. Backward is the straight-through estimator: the
// gradient of W̃ (x̃) is passed to W (x) unchanged, except that with clipping
// on, weights whose code was clipped (|W / scale| > Q + 0.5) get none, and
// with the activation STE clipped (a plan's act_ste_clip), inputs outside the
// row's code range, x / step outside [ste_lo, ste_hi], get none: kbit
// [-Q-1.5, Q+0.5] (the code saturated, as for weights), binary [-1, 1]
// (hardtanh on x / mean|x|, BNN's usual STE).
//
// File storage (rows packed separately, each padded to whole blocks, so row n
// starts at byte n · row_bytes(K)):
//   tq1  ternary, base 3: 5 codes per byte, byte = Σ (c_i + 1) · 3^i (1.6 bits/weight)
//   tq1r the same codes, with a scale per row (a packed file's bitbench.packing
//        names each tensor's tag; the reader checks it against the plan's format)
//   b1   binary, 1 bit:   8 codes per byte, bit i set for +1 (LSB first)
//   q2   2-bit signed:    4 per byte as c + 2 (codes -2..1; BitNet W2 uses -1..1)
//   q4   4-bit signed:    2 per byte as c + 8, low nibble first
//   q8   8-bit signed:    1 per byte (two's complement)
// Kernel layout (kernels/bit_gemm.hpp): codes stored unsigned as
// u = (code + offset) >> ushift in kernel_bits bits (activations: the
// bit-serial planes use the same rule).
// Which kernel runs a (weight, activation) pair: kernels/gemm_pairs.hpp.
// Rows are written with designated initializers, every field named.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace bb {

enum class WeightFormat : uint8_t { kF32, kTernary, kBinary, kInt2, kInt4, kInt8, kTernaryRow };
enum class ActFormat : uint8_t { kF32, kInt8, kInt4, kInt2, kBinary };
// How a kbit activation row's step is set: from its largest magnitude or its mean one.
enum class ActScale : uint8_t { kAbsMax = 0, kAbsMean = 1 };
const char* act_scale_name(ActScale s);  // "absmax", "absmean"
bool act_scale_from_name(const std::string& name, ActScale& out);

struct WeightFormatTraits {
  WeightFormat format;
  const char* token;  // spec name part after "W": "1.58", "1", "2", "4", "8" ("" for fp32)
  const char* name;   // "ternary", "binary", "int2", "int4", "int8" ("fp32")
  double bits;        // nominal information bits per weight (1.58 = log2 3)
  // quantiser
  int qmax;      // largest code magnitude it emits
  bool per_row;  // one scale per output row (else one per matrix)
  bool clips;    // codes can saturate (the STE then blocks those weights' gradient)
  float eps;     // added to the scale before dividing (ternary: 1e-5), also in the STE's limit
  // codes[N, K] in [-qmax, qmax] (binary: ±1); scales[N] (per_row) or scales[0].
  void (*codes)(const float* w, int64_t N, int64_t K, int8_t* codes, float* scales);
  // codes the storage and the kernels can hold
  int min_code, max_code;
  bool no_zero;  // binary: ±1 only
  // file storage
  const char* storage;  // "tq1", "b1", "q2", "q4", "q8" ("" for fp32)
  double storage_bits;  // per weight, padding excluded
  int block, block_bytes;
  void (*pack)(const int8_t* codes, int64_t n, uint8_t* out);    // n codes -> row_bytes(n) bytes
  void (*unpack)(const uint8_t* in, int64_t n, int8_t* codes);  // inverse
  // bit-kernel layout
  int kernel_bits;  // stored bits per weight
  int offset;       // u = code + offset
  int ushift;       // u is stored shifted right by this (binary: 1)

  bool holds(int code) const { return code >= min_code && code <= max_code && !(no_zero && code == 0); }
};

// A function of rows of x [M, K] → int8 codes [M, ld] (columns K.. of each row
// untouched), mul[M] (the value of one code step) and sum[M] (Σ codes).
using ActQuantizeFn = void (*)(const float* x, int64_t M, int64_t K, int64_t ld, int8_t* codes, float* mul,
                               int32_t* sum);

struct ActFormatTraits {
  ActFormat format;
  const char* token;  // "8", "4", "2", "1" ("" for fp32)
  const char* name;   // "int8", "int4", "int2", "binary" ("fp32")
  int bits;           // 32 for fp32
  int qmax;
  // codes the quantiser emits: kbit [-qmax-1, qmax] (absmean reaches -qmax-1), binary ±1
  int min_code, max_code;
  bool no_zero;  // binary: ±1 only
  // unsigned form (bit-serial planes): u = (code + offset) >> ushift in `bits` bits
  int offset, ushift;
  float absmean_step;  // κ of the absmean rule
  float ste_lo, ste_hi;  // the clipped STE passes x / step in [ste_lo, ste_hi]
  // Per rule (ActScale): serial over the rows it is given (null for fp32).
  ActQuantizeFn quantize[2];
  // Per rule: xq[M, K] = dequantised x (codes · mul), rows in parallel chunks; fp32 copies.
  void (*fake_quant_fn[2])(const float* x, int64_t M, int64_t K, float* xq);

  ActQuantizeFn quantizer(ActScale s) const { return quantize[static_cast<int>(s)]; }
  bool holds(int code) const { return code >= min_code && code <= max_code && !(no_zero && code == 0); }
  void fake_quant(const float* x, int64_t M, int64_t K, float* xq, ActScale s = ActScale::kAbsMax) const {
    fake_quant_fn[static_cast<int>(s)](x, M, K, xq);
  }
};

const WeightFormatTraits& weight_traits(WeightFormat f);
const ActFormatTraits& act_traits(ActFormat f);
// Every row, in enum order (fp32 first): what lists formats walks these.
std::span<const WeightFormatTraits> weight_format_rows();
std::span<const ActFormatTraits> act_format_rows();
// By storage name ("tq1", ...) as packed files record it; Error(Usage) for unknown names.
const WeightFormatTraits& weight_traits_by_storage(const std::string& storage);
// Parses a spec part: weights "1.58", "1", ...; activations "8", ...; false when unknown.
bool weight_format_from_token(const std::string& token, WeightFormat& out);
bool act_format_from_token(const std::string& token, ActFormat& out);
// "W1.58, W1, ..." / "A8, A4, ..." — the tokens of the tables, for messages.
std::string weight_format_tokens();
std::string act_format_tokens();

// Whether a table's rows stand in enum order (row i holds format i): lookups index by the enum.
template <class Traits, size_t N>
constexpr bool in_enum_order(const Traits (&rows)[N]) {
  for (size_t i = 0; i < N; ++i)
    if (static_cast<size_t>(rows[i].format) != i) return false;
  return true;
}

// The row of a table whose spec token is `token` (rows without one are skipped); null when none.
template <class Traits, size_t N>
const Traits* find_by_token(const Traits (&rows)[N], const std::string& token) {
  for (const Traits& t : rows)
    if (*t.token && token == t.token) return &t;
  return nullptr;
}

// Bytes of one stored row of K codes.
int64_t row_bytes(const WeightFormatTraits& t, int64_t K);

// wq[N, K] = codes · scale (the dequantised weights), via t.codes; codes is
// scratch of N·K. For fp32 wq is a copy of w.
void fake_quant_weights(const WeightFormatTraits& t, const float* w, int64_t N, int64_t K, int8_t* codes, float* wq,
                        float* scales);
// The STE's clipping: zero dw where the code of w saturated (|w / scale| > qmax + 0.5).
void ste_clip_mask(const WeightFormatTraits& t, const float* w, int64_t N, int64_t K, const float* scales, float* dw);
// The activation STE's clipping: zero dx[M, K] where x / step of its row
// (the step of rule s) lies outside [t.ste_lo, t.ste_hi]. fp32: nothing.
void act_ste_clip_mask(const ActFormatTraits& t, ActScale s, const float* x, int64_t M, int64_t K, float* dx);

}  // namespace bb
