// The (weight format, activation format) → kernel table of kernels/gemm_pairs.hpp.
#include "kernels/gemm_pairs.hpp"

#include <iterator>
#include <string>

#include "core/error.hpp"

namespace bb {
namespace {

void pack_bit(const WeightFormatTraits& w, const int8_t* codes, int64_t N, int64_t K, const float* scales,
              GemmWeights& out) {
  out.bit = pack_bit_matrix(w.format, codes, N, K, scales, w.per_row);
}
void run_bit(const BitActs& a, const GemmWeights& w, const float* bias, float* y) { bit_gemm(a, w.bit, bias, y); }
void run_bit_i32(const BitActs& a, const GemmWeights& w, int32_t* acc) { bit_gemm_i32(a, w.bit, acc); }
int64_t bit_bytes(const GemmWeights& w) { return w.bit.bytes(); }

void pack_sign(const WeightFormatTraits& w, const int8_t* codes, int64_t N, int64_t K, const float* scales,
               GemmWeights& out) {
  out.sign = pack_sign_matrix(codes, N, K, scales, w.per_row);
}
// The binary codes' sign bits per call (thread_local: layers may run side by side).
const SignActs& signs_of(const BitActs& a) {
  thread_local SignActs signs;
  signs_from_acts(a, signs);
  return signs;
}
void run_xnor(const BitActs& a, const GemmWeights& w, const float* bias, float* y) {
  xnor_gemm(signs_of(a), w.sign, bias, y);
}
void run_xnor_i32(const BitActs& a, const GemmWeights& w, int32_t* acc) { xnor_gemm_i32(signs_of(a), w.sign, acc); }
int64_t sign_bytes(const GemmWeights& w) { return w.sign.bytes(); }

// One row per kernel, in enum order.
const GemmKernelTraits kGemmKernels[] = {
    {.kernel = GemmKernel::kBitGemm, .name = "bit_gemm",
     .packing = "u = (code + offset) >> ushift in kernel_bits bits, 16-column blocks (bit_gemm.hpp)",
     .epilogue = "(Σ u·a − offset·Σa) · w_scale[n] · a_mul[m] + bias[n]",
     .pack = pack_bit, .gemm = run_bit, .gemm_i32 = run_bit_i32, .path = bit_gemm_path, .bytes = bit_bytes},
    {.kernel = GemmKernel::kXnorGemm, .name = "xnor_gemm",
     .packing = "sign bits, 64 inputs per word, word-major (xnor_gemm.hpp)",
     .epilogue = "(K − 2·popcount(a ⊕ w)) · w_scale[n] · a_mul[m] + bias[n]",
     .pack = pack_sign, .gemm = run_xnor, .gemm_i32 = run_xnor_i32, .path = xnor_gemm_path, .bytes = sign_bytes},
};
static_assert(std::size(kGemmKernels) == static_cast<size_t>(GemmKernel::kXnorGemm) + 1, "one row per kernel, in enum order");

using W = WeightFormat;
using A = ActFormat;
constexpr GemmKernel kBit = GemmKernel::kBitGemm;

// Every pair of quantised formats has a row. One u8×s8 kernel serves them all
// (offset codes, kernels/bit_gemm.hpp) except binary × binary, where a product
// is one XNOR bit and 64 of them one popcount.
const GemmPairTraits kGemmPairs[] = {
    {.w = W::kTernary, .a = A::kInt8, .kernel = kBit},
    {.w = W::kTernary, .a = A::kInt4, .kernel = kBit},
    {.w = W::kTernary, .a = A::kInt2, .kernel = kBit},
    {.w = W::kTernary, .a = A::kBinary, .kernel = kBit},
    {.w = W::kTernaryRow, .a = A::kInt8, .kernel = kBit},
    {.w = W::kTernaryRow, .a = A::kInt4, .kernel = kBit},
    {.w = W::kTernaryRow, .a = A::kInt2, .kernel = kBit},
    {.w = W::kTernaryRow, .a = A::kBinary, .kernel = kBit},
    {.w = W::kBinary, .a = A::kInt8, .kernel = kBit},
    {.w = W::kBinary, .a = A::kInt4, .kernel = kBit},
    {.w = W::kBinary, .a = A::kInt2, .kernel = kBit},
    {.w = W::kBinary, .a = A::kBinary, .kernel = GemmKernel::kXnorGemm},
    {.w = W::kInt2, .a = A::kInt8, .kernel = kBit},
    {.w = W::kInt2, .a = A::kInt4, .kernel = kBit},
    {.w = W::kInt2, .a = A::kInt2, .kernel = kBit},
    {.w = W::kInt2, .a = A::kBinary, .kernel = kBit},
    {.w = W::kInt4, .a = A::kInt8, .kernel = kBit},
    {.w = W::kInt4, .a = A::kInt4, .kernel = kBit},
    {.w = W::kInt4, .a = A::kInt2, .kernel = kBit},
    {.w = W::kInt4, .a = A::kBinary, .kernel = kBit},
    {.w = W::kInt8, .a = A::kInt8, .kernel = kBit},
    {.w = W::kInt8, .a = A::kInt4, .kernel = kBit},
    {.w = W::kInt8, .a = A::kInt2, .kernel = kBit},
    {.w = W::kInt8, .a = A::kBinary, .kernel = kBit},
};

}  // namespace

const GemmKernelTraits& gemm_kernel_traits(GemmKernel k) { return kGemmKernels[static_cast<int>(k)]; }
const GemmKernelTraits& GemmPairTraits::traits() const { return gemm_kernel_traits(kernel); }

std::span<const GemmPairTraits> gemm_pairs() { return kGemmPairs; }

const GemmPairTraits* find_gemm_pair(WeightFormat w, ActFormat a) {
  for (const GemmPairTraits& p : kGemmPairs)
    if (p.w == w && p.a == a) return &p;
  return nullptr;
}

const GemmPairTraits& gemm_pair(WeightFormat w, ActFormat a) {
  if (const GemmPairTraits* p = find_gemm_pair(w, a)) return *p;
  throw Error::usage(std::string("no integer kernel runs ") + weight_traits(w).name + " weights × " +
                     act_traits(a).name + " activations (integer kernels need quantised weights and activations)");
}

}  // namespace bb
