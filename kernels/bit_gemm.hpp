#pragma once
// Integer GEMMs on packed low-bit weights, the BitNet inference path:
//   y[M, N] = (Σ_k a[m, k] · w[n, k]) · w_scale[n] · a_mul[m] + bias[n]
// with a the per-token integer codes of the activations (kbit absmax or
// binary) and w the integer codes of the weights, accumulated exactly in int32
// and scaled once afterwards (BitScaling).
//
// One trick serves every weight format: codes are stored unsigned as
// u = w + offset (ternary {0, 1, 2}, binary {0, 2}, int4 1..15, int8 1..255),
// so one u8 × s8 dot kernel (vpdpbusd on AVX-512 VNNI) runs them all and the
// offset comes back out with the activation row sums: Σ w·a = Σ u·a − offset·Σ a.
// A format only decides how many bits a stored u takes (bits; binary stores
// u / 2 in one bit and shifts it back while unpacking).
//
// Kernel layout (BitMatrix::data): output columns in blocks of 16; inside a
// block, one 64-byte vector per 4·(8/bits) inputs. Byte j of a vector holds
// column j / 4, input k0 + 4i + j % 4 for i < 8/bits at bits [i·bits, (i+1)·bits):
// unpacking field i of all 64 bytes (a shift and a mask) yields exactly the
// 16 × 4 bytes one vpdpbusd multiplies against four broadcast activations.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace bb {

enum class BitWeights : uint8_t { kTernary, kBinary, kInt2, kInt4, kInt8 };

struct BitWeightTraits {
  BitWeights kind;
  const char* name;        // "ternary", ...
  int bits;                // stored bits per weight in the kernel layout
  int offset;              // u = code + offset
  int ushift;              // u is stored shifted right by this (binary: 1)
  int min_code, max_code;  // codes the format takes
};
const BitWeightTraits& bit_weight_traits(BitWeights k);

// 64-byte aligned bytes (SIMD loads of whole vectors).
class AlignedBytes {
 public:
  void resize(size_t n);  // contents are not kept
  uint8_t* data() { return p_.get(); }
  const uint8_t* data() const { return p_.get(); }
  size_t size() const { return n_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> p_;
  size_t n_ = 0, cap_ = 0;
};

// Inputs are padded to a multiple of this (zero activations, code 0 weights).
constexpr int64_t kBitKAlign = 32;
inline int64_t bit_padded_k(int64_t K) { return (K + kBitKAlign - 1) / kBitKAlign * kBitKAlign; }

// One Linear's weights, packed once (at load) for the kernels.
struct BitMatrix {
  const BitWeightTraits* t = nullptr;
  int64_t N = 0, K = 0, Kp = 0, blocks = 0;  // blocks = ceil(N / 16)
  AlignedBytes data;                         // [blocks][Kp / (4 · 8/bits)][64]
  std::vector<float> scale;                  // [blocks · 16] per output column, 0 in the padding
  int64_t vectors_per_block() const { return Kp / (32 / t->bits); }
  int64_t bytes() const { return static_cast<int64_t>(data.size() + scale.size() * sizeof(float)); }
};
// codes [N, K] within the format's range; scales [N] (per_row) or [1]. Error(Usage) on codes out of range.
BitMatrix pack_bit_matrix(BitWeights kind, const int8_t* codes, int64_t N, int64_t K, const float* scales,
                          bool per_row);
void unpack_bit_matrix(const BitMatrix& w, int8_t* codes);  // codes [N, K]

// Activations quantised per token for the kernels.
struct BitActs {
  int64_t M = 0, K = 0, Kp = 0;
  int bits = 8;
  AlignedBytes q;            // int8 codes [M, Kp], zero padded
  std::vector<float> mul;    // [M] the value of one code step (1 / s; binary: mean|x|)
  std::vector<int32_t> sum;  // [M] Σ_k codes
  const int8_t* row(int64_t m) const { return reinterpret_cast<const int8_t*>(q.data()) + m * Kp; }
};
// One pass per row: absmax, round, store codes and their sum (the codes equal
// models/quant.hpp's fake quantiser exactly). bits 8, 4, 2 (kbit) or 1 (binary).
// subln_eps ≥ 0: each row is first normalised by a LayerNorm without affine
// parameters (BitNet's SubLN) with that eps, in registers, producing exactly
// the floats models/layers.cpp's layernorm_forward (weights 1, biases 0) would.
void quantize_acts(const float* x, int64_t M, int64_t K, int bits, BitActs& out, float subln_eps = -1);
// Codes given directly (tests, benchmarks): a [M, K] in [-127, 127] (what the
// quantiser produces; -128 is refused); mul = 1.
void set_acts(const int8_t* a, int64_t M, int64_t K, BitActs& out);

// y[M, N] = acc · scale[n] · mul[m] + bias[n] (bias may be null). Threads over column blocks.
void bit_gemm(const BitActs& a, const BitMatrix& w, const float* bias, float* y);
// The exact integer result acc[M, N] = Σ_k a · w (tests compare it to the reference).
void bit_gemm_i32(const BitActs& a, const BitMatrix& w, int32_t* acc);
// Plain loops over unpacked codes: a [M, K], codes [N, K].
void bit_gemm_reference(const int8_t* a, const int8_t* codes, int64_t M, int64_t N, int64_t K, int32_t* acc);
// Which path bit_gemm takes now: "avx512-vnni", "avx2" or "generic".
const char* bit_gemm_path();

}  // namespace bb
