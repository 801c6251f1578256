#include "kernels/vector_ops.hpp"

#include <vector>

#include "kernels/fast_math.hpp"
#include "kernels/parallel.hpp"

namespace bb {
namespace {

constexpr int64_t kChunk = 64;  // rows per chunk of a column reduction

BB_INLINE void softmax_block_body(float* x, int64_t rows, int64_t n) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) softmax_inplace_rows<4>(x + r * n, n, n);  // the same floats as row by row
  for (; r < rows; ++r) softmax_inplace(x + r * n, n);
}
BB_MULTIVERSION(softmax_block, (float* x, int64_t rows, int64_t n), (x, rows, n))

BB_INLINE void softmax_padded_block_isa_body(float* rows, int64_t nrows, int64_t n, int64_t np) {
  softmax_padded_block_rows(rows, nrows, n, np);
}
BB_MULTIVERSION(softmax_padded_block_isa, (float* rows, int64_t nrows, int64_t n, int64_t np), (rows, nrows, n, np))

// out[N] = column sums of x[rows, N].
BB_INLINE void column_sums_body(const float* __restrict x, float* __restrict out, int64_t rows, int64_t N) {
  for (int64_t n = 0; n < N; ++n) out[n] = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) out[n] += x[r * N + n];
}
BB_MULTIVERSION(column_sums, (const float* x, float* out, int64_t rows, int64_t N), (x, out, rows, N))

}  // namespace

void softmax_rows_fast(float* x, int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static) if (parallel_pays(rows * n))
  for (int64_t r = 0; r < rows; r += 16) softmax_block(x + r * n, rows - r < 16 ? rows - r : 16, n);
}

void softmax_padded_block(float* rows, int64_t nrows, int64_t n, int64_t np) {
  softmax_padded_block_isa(rows, nrows, n, np);
}

void column_sums_add(const float* x, float* sums, int64_t M, int64_t N) {
  const int64_t chunks = (M + kChunk - 1) / kChunk;
  float* part = scratch(1, static_cast<size_t>(chunks * N));  // [chunks, N]
#pragma omp parallel for schedule(static) if (parallel_pays(M * N))
  for (int64_t c = 0; c < chunks; ++c)
    column_sums(x + c * kChunk * N, part + c * N, M - c * kChunk < kChunk ? M - c * kChunk : kChunk, N);
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t n = 0; n < N; ++n) sums[n] += part[c * N + n];
}

float* scratch(int slot, size_t n) {
  thread_local std::vector<float> bufs[2];
  std::vector<float>& b = bufs[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace bb
