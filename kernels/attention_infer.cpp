#include "kernels/attention_infer.hpp"

#include <omp.h>

#include <algorithm>

#include "kernels/fast_math.hpp"
#include "kernels/parallel.hpp"
#include "core/simd.hpp"
#include "kernels/vector_ops.hpp"

namespace bb {
namespace {

constexpr int64_t kRows = 8;    // query rows per register block
constexpr int64_t kCols = 32;   // columns per register block (two 16-float vectors)
constexpr int64_t padded(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// Rows [i0, i1) of one head. q, k, v point at the head's first element inside
// qkv (row stride 3D); o at the head's slice of out (row stride D).
// Tiles: kt [Dh, Tp] (K transposed, zero columns past T), vv [T, Dhp] (zero
// past Dh), qs [kRows, Dh] (q · scale, zero rows past i1), s [kRows, Tp].
BB_INLINE void head_rows_body(const float* __restrict q, const float* __restrict k, const float* __restrict v,
                              float* __restrict o, int64_t T, int64_t Dh, int64_t D, float scale, int64_t i0,
                              int64_t i1, float* __restrict kt, float* __restrict vv, float* __restrict qs,
                              float* __restrict s) {
  const int64_t rs = 3 * D, Tp = padded(T, kCols), Dhp = padded(Dh, kCols);
  for (int64_t i = 0; i < Dh * Tp; ++i) kt[i] = 0;
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < Dh; ++d) kt[d * Tp + j] = k[j * rs + d];
  for (int64_t j = 0; j < T; ++j) {
    for (int64_t d = 0; d < Dh; ++d) vv[j * Dhp + d] = v[j * rs + d];
    for (int64_t d = Dh; d < Dhp; ++d) vv[j * Dhp + d] = 0;
  }
  for (int64_t r0 = i0; r0 < i1; r0 += kRows) {
    const int64_t nr = std::min(kRows, i1 - r0);
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t d = 0; d < Dh; ++d) qs[r * Dh + d] = r < nr ? q[(r0 + r) * rs + d] * scale : 0.0f;
    // s[r, j] = (q[r] · scale) · k[j]
    for (int64_t j0 = 0; j0 < Tp; j0 += kCols) {
      f32x16 acc[kRows][2] = {};
      for (int64_t d = 0; d < Dh; ++d) {
        const f32x16 k0 = BB_LOAD16(kt + d * Tp + j0), k1 = BB_LOAD16(kt + d * Tp + j0 + 16);
        for (int64_t r = 0; r < kRows; ++r) {
          const float qv = qs[r * Dh + d];
          acc[r][0] += qv * k0;
          acc[r][1] += qv * k1;
        }
      }
      for (int64_t r = 0; r < kRows; ++r) {
        BB_STORE16(s + r * Tp + j0, acc[r][0]);
        BB_STORE16(s + r * Tp + j0 + 16, acc[r][1]);
      }
    }
    softmax_padded_block_rows(s, nr, T, Tp);  // four rows' reductions side by side (the same floats)
    for (int64_t r = nr; r < kRows; ++r)
      for (int64_t j = 0; j < Tp; ++j) s[r * Tp + j] = 0;
    // o[r] = s[r] · V
    for (int64_t d0 = 0; d0 < Dhp; d0 += kCols) {
      f32x16 acc[kRows][2] = {};
      for (int64_t j = 0; j < T; ++j) {
        const f32x16 v0 = BB_LOAD16(vv + j * Dhp + d0), v1 = BB_LOAD16(vv + j * Dhp + d0 + 16);
        for (int64_t r = 0; r < kRows; ++r) {
          const float p = s[r * Tp + j];
          acc[r][0] += p * v0;
          acc[r][1] += p * v1;
        }
      }
      const int64_t n = std::min(kCols, Dh - d0);
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t l = 0; l < n; ++l) o[(r0 + r) * D + d0 + l] = l < 16 ? acc[r][0][l] : acc[r][1][l - 16];
    }
  }
}
BB_MULTIVERSION(head_rows,
                (const float* q, const float* k, const float* v, float* o, int64_t T, int64_t Dh, int64_t D,
                 float scale, int64_t i0, int64_t i1, float* kt, float* vv, float* qs, float* s),
                (q, k, v, o, T, Dh, D, scale, i0, i1, kt, vv, qs, s))

}  // namespace

void attention_infer(const float* qkv, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh, float scale) {
  const int64_t D = H * Dh, Tp = padded(T, kCols), Dhp = padded(Dh, kCols);
  // One task per (image, head) when there are enough for the threads: K and V
  // are then copied into their tiles once per head. Otherwise a head's rows are
  // split so every thread gets work (each part copies the tiles itself).
  const int64_t threads = num_threads();
  int64_t blocks = 1;
  if (B * H < 2 * threads) blocks = std::min((T + kRows - 1) / kRows, (2 * threads + B * H - 1) / (B * H));
  const int64_t task_rows = ((T + blocks - 1) / blocks + kRows - 1) / kRows * kRows;
  blocks = (T + task_rows - 1) / task_rows;
  const int64_t tasks = B * H * blocks;
  const size_t tile = static_cast<size_t>(Dh * Tp + T * Dhp + kRows * Dh + kRows * Tp);
  parallel_tasks(tasks, parallel_pays_macs(B * H * T * T * Dh), [&](int64_t t) {
    const int64_t b = t / (H * blocks), h = t / blocks % H, i0 = t % blocks * task_rows;
    float* kt = scratch(0, tile);
    float* vv = kt + Dh * Tp;
    float* qs = vv + T * Dhp;
    float* s = qs + kRows * Dh;
    const float* q = qkv + b * T * 3 * D + h * Dh;
    head_rows(q, q + D, q + 2 * D, out + b * T * D + h * Dh, T, Dh, D, scale, i0, std::min(T, i0 + task_rows), kt, vv, qs, s);
  });
}

}  // namespace bb
