#pragma once
// Test-only (tests/test_bit_gemm.cpp, bench/bench_kernels.cpp): no engine
// pair runs it (kernels/gemm_pairs.hpp); kept as a measured alternative.
// Bit-serial WkAk (k ≤ 4; e.g. W1A2, W2A2, W1.58A2): codes as unsigned bit
// planes, products from AND + popcount. With a = sa·ua − oa and w = sw·uw − ow
// (ua, uw unsigned: ua < 2^ka, uw < 2^kw),
//   Σ a·w = sa·sw·Σ ua·uw − sa·ow·Σ ua − oa·sw·Σ uw + K·oa·ow,
//   Σ ua·uw = Σ_{b<ka, c<kw} 2^(b+c) · popcount(plane_b(ua) AND plane_c(uw)).
// s and o are the format rows' unsigned form (kernels/quant_format.hpp:
// s = 2^ushift, o = offset): binary ±1 is one plane with s = 2, o = 1; signed
// k-bit codes are k planes with s = 1, o = 2^(k−1) (ternary: 2 planes, o = 1). Padding bits
// are 0 and the corrections use the true K, so the result is exact.
// Layout as xnor_gemm.hpp: 64 inputs per word, weights word-major per plane
// [kw_planes][Kw][Np], activations [M][ka_planes][Kw].
#include <cstdint>
#include <vector>

#include "kernels/act_quant.hpp"
#include "kernels/aligned_bytes.hpp"

namespace bb {

struct PlaneCode {
  int planes;  // k
  int s, o;    // code = s · u − o
};

struct PlaneMatrix {
  int64_t N = 0, K = 0, Kw = 0, Np = 0;
  PlaneCode code{};
  AlignedBytes words;           // uint64 [planes][Kw][Np]
  std::vector<int32_t> usum;    // [Np] Σ_k uw per column
  std::vector<float> scale;     // [Np]
  const uint64_t* word_row(int c, int64_t kw) const {
    return reinterpret_cast<const uint64_t*>(words.data()) + (c * Kw + kw) * Np;
  }
  int64_t bytes() const { return static_cast<int64_t>(words.size() + scale.size() * sizeof(float)); }
};
// codes [N, K] of format t (t.holds), as planes of its kernel layout's
// unsigned form (kernel_bits ≤ 4); Error(Usage) otherwise.
PlaneMatrix pack_plane_matrix(const WeightFormatTraits& t, const int8_t* codes, int64_t N, int64_t K,
                              const float* scales, bool per_row);

struct PlaneActs {
  int64_t M = 0, K = 0, Kw = 0;
  PlaneCode code{};
  std::vector<uint64_t> words;  // [M][planes][Kw]
  std::vector<int32_t> usum;    // [M] Σ_k ua
  std::vector<float> mul;       // [M]
};
// From quantised activations (kernels/act_quant.hpp's BitActs of 4, 2 or 1 bits).
void planes_from_acts(const BitActs& a, PlaneActs& out);

void bitserial_gemm(const PlaneActs& a, const PlaneMatrix& w, const float* bias, float* y);
void bitserial_gemm_i32(const PlaneActs& a, const PlaneMatrix& w, int32_t* acc);
const char* bitserial_gemm_path();  // "avx512-vpopcntdq", "popcnt" or "generic"

}  // namespace bb
