#pragma once
// The second format table: which integer GEMM serves a (weight format,
// activation format) pair, as ggml pairs a weight type with its vec_dot_type.
// A pair's row names its kernel; the kernel's row says how the weights are
// packed for it, how the activation codes reach it and the epilogue that turns
// its integer sums into y. The engine (models/int_engine.cpp) runs whatever
// the row names and never asks which format it holds; kernels/quant_format.hpp
// holds the facts of each format alone.
#include <cstdint>
#include <span>

#include "kernels/act_quant.hpp"
#include "kernels/bit_gemm.hpp"
#include "kernels/quant_format.hpp"
#include "kernels/xnor_gemm.hpp"

namespace bb {

enum class GemmKernel : uint8_t { kBitGemm, kXnorGemm };

// One Linear's weights as its kernel holds them (only that kernel's member is filled).
struct GemmWeights {
  BitMatrix bit;    // bit_gemm
  SignMatrix sign;  // xnor_gemm
};

struct GemmKernelTraits {
  GemmKernel kernel;
  const char* name;     // "bit_gemm", "xnor_gemm"
  const char* packing;  // how the weight codes are laid out for it (docs, messages)
  const char* epilogue;  // how its integer sums become y (docs, messages)
  // codes [N, K] of the weight format's row, scales [N] (per_row) or [1] → out.
  void (*pack)(const WeightFormatTraits& w, const int8_t* codes, int64_t N, int64_t K, const float* scales,
               GemmWeights& out);
  // y[M, N] = Σ_k a·w · w_scale[n] · a_mul[m] + bias[n] (bias may be null), from quantize_acts' codes.
  void (*gemm)(const BitActs& a, const GemmWeights& w, const float* bias, float* y);
  // The exact integer sums acc[M, N] (tests compare them to bit_gemm_reference).
  void (*gemm_i32)(const BitActs& a, const GemmWeights& w, int32_t* acc);
  const char* (*path)();  // the ISA path it takes now
  int64_t (*bytes)(const GemmWeights& w);  // packed codes + scales
};

struct GemmPairTraits {
  WeightFormat w;
  ActFormat a;
  GemmKernel kernel;
  const GemmKernelTraits& traits() const;
};

const GemmKernelTraits& gemm_kernel_traits(GemmKernel k);
// The row of a pair; null when no integer kernel serves it (an fp32 side).
const GemmPairTraits* find_gemm_pair(WeightFormat w, ActFormat a);
// The same, Error(Usage) naming the pair when there is none.
const GemmPairTraits& gemm_pair(WeightFormat w, ActFormat a);
// Every row, in table order (tests and the docs walk them).
std::span<const GemmPairTraits> gemm_pairs();

}  // namespace bb
