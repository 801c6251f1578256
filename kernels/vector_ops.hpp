#pragma once
// Row-wise and column-wise float loops that training runs over whole
// activations, vectorised per ISA (see simd.hpp) and parallel over fixed row
// chunks: results do not depend on the thread count.
#include <cstddef>
#include <cstdint>

namespace bb {

// Softmax of each row of x[rows, n] in place (the vectorised exp).
void softmax_rows_fast(float* x, int64_t rows, int64_t n);

// softmax_padded (kernels/fast_math.hpp) of each row of rows[nrows, np], the
// row's first n entries live: four rows at a time with their reductions
// interleaved (softmax_padded_rows), the same floats as row by row.
void softmax_padded_block(float* rows, int64_t nrows, int64_t n, int64_t np);

// sums[N] += column sums of x[M, N] (a bias gradient). Partial sums per chunk
// of rows are added in chunk order.
void column_sums_add(const float* x, float* sums, int64_t M, int64_t N);

// A per-thread float buffer of at least n, grown on demand and kept, so hot
// loops allocate nothing once warm. Slots let one thread hold two at once.
float* scratch(int slot, size_t n);

}  // namespace bb
