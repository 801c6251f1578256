#pragma once
// The skeleton both popcount GEMMs share (XNOR W1A1 in xnor_gemm.cpp, bit-serial
// WkAk in test_only/bitserial_gemm.cpp): target attributes, the argument block, the
// store of one exact dot product, the popcount path and the task dispatch over
// panels of 32 output columns × row parts. A kernel supplies three bodies —
// vpopcnt (AVX-512 VPOPCNTDQ), popcnt (64-bit scalar popcount, the AVX2 level)
// and generic — each taking (args, m0, m1, n0).
#include <algorithm>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "kernels/parallel.hpp"

#define BB_TARGET_VPOPCNT \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vpopcntdq,avx2,fma,popcnt")))
#define BB_TARGET_POPCNT __attribute__((target("avx2,fma,popcnt")))

namespace bb {

// Which popcount the popcount kernels use now.
enum class PopcountPath { kGeneric, kPopcnt, kVpopcnt };
PopcountPath popcount_path();
// "avx512-vpopcntdq", "popcnt" or "generic".
const char* popcount_path_name();

constexpr int64_t kPopcountPanel = 32;  // output columns per panel (the matrices' Np is a multiple)

template <class Acts, class Matrix>
struct PopcountArgs {
  const Acts* a;
  const Matrix* w;
  const float* bias;  // [N] or null
  float* y;           // [M, N] (float output) or null
  int32_t* acc;       // [M, N] (integer output) or null
};

// One exact dot product out: acc, or y = dot · scale[n] · mul[m] + bias[n].
template <class Args>
inline void store_dot(const Args& g, int64_t m, int64_t n, int64_t dot) {
  const int64_t N = g.w->N;
  if (g.acc) {
    g.acc[m * N + n] = static_cast<int32_t>(dot);
    return;
  }
  g.y[m * N + n] = static_cast<float>(dot) * g.w->scale[static_cast<size_t>(n)] * g.a->mul[static_cast<size_t>(m)] +
                   (g.bias ? g.bias[n] : 0.0f);
}

// Tasks of rows_per_task rows × one panel (the panel stays in L1 across them),
// in parallel when there are more than `serial_below` bit products.
template <class Kernel, class Args>
void run_popcount_gemm(const Args& g, const char* name, int64_t rows_per_task, int64_t serial_below) {
  const auto& a = *g.a;
  const auto& w = *g.w;
  if (a.K != w.K)
    throw Error::usage(std::string(name) + ": activations have K = " + std::to_string(a.K) + ", weights " + std::to_string(w.K));
  const int64_t M = a.M, panels = w.Np / kPopcountPanel;
  if (M == 0 || w.N == 0) return;
  const PopcountPath path = popcount_path();
  const int64_t mparts = (M + rows_per_task - 1) / rows_per_task;
  parallel_tasks(panels * mparts, M * w.N * w.Kw * 64 > serial_below, [&](int64_t t) {
    const int64_t n0 = (t / mparts) * kPopcountPanel, m0 = (t % mparts) * rows_per_task;
    const int64_t m1 = std::min(M, m0 + rows_per_task);
    switch (path) {
      case PopcountPath::kVpopcnt: return Kernel::vpopcnt(g, m0, m1, n0);
      case PopcountPath::kPopcnt: return Kernel::popcnt(g, m0, m1, n0);
      default: return Kernel::generic(g, m0, m1, n0);
    }
  });
}

}  // namespace bb
