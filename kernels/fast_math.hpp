#pragma once
// exp and erf as straight-line float code the compiler can vectorise (libm's
// calls cannot be). Accuracy (tested against libm): exp relative error below
// 3e-7 on [-87, 88] (clamped outside); erf absolute error below 6e-7
// (measured 4.9e-7: the 1.5e-7 of the formula plus float rounding).
#include <bit>
#include <cstdint>

#include "core/simd.hpp"

namespace bb {

// The part of exp_approx every width shares (F = float or f32x16): clamp,
// x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two, Cody-Waite, keeps r
// exact), and p(r) ≈ e^r (Taylor to r^6: truncation below 1.3e-7 on |r| <= 0.347).
// In/out by reference: x becomes p, n is set (no vector-by-value ABI between ISA targets).
template <class F>
BB_INLINE void exp_poly(F& x, F& n) {
  const F zero = F{};
  x = x < zero - 87.0f ? zero - 87.0f : x;
  x = x > zero + 88.0f ? zero + 88.0f : x;
  n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  const F r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;
  F p = zero + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  x = p;
}

BB_INLINE float exp_approx(float x) {
  float n;
  exp_poly(x, n);  // x is now p
  return x * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);  // times 2^n
}

// Abramowitz & Stegun 7.1.26 (absolute error 1.5e-7 in exact arithmetic).
BB_INLINE float erf_approx(float x) {
  const float a = x < 0 ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.0f - p * t * exp_approx(-a * a);
  return x < 0 ? -y : y;
}

// Sum and maximum of x[0, n) as 16-wide vector reductions (plain loops would
// stay scalar: float addition may not be reordered without -ffast-math). The
// order is fixed by n alone, so results do not depend on the ISA's width.
BB_INLINE float sum_vec(const float* x, int64_t n) {
  f32x16 acc = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) acc += BB_LOAD16(x + j);
  float s = 0;
  for (int l = 0; l < 16; ++l) s += acc[l];
  for (; j < n; ++j) s += x[j];
  return s;
}
BB_INLINE float max_vec(const float* x, int64_t n) {
  float mx = x[0];
  int64_t j = 0;
  if (n >= 16) {
    f32x16 m = BB_LOAD16(x);
    for (j = 16; j + 16 <= n; j += 16) {
      const f32x16 v = BB_LOAD16(x + j);
      m = v > m ? v : m;
    }
    for (int l = 0; l < 16; ++l) mx = m[l] > mx ? m[l] : mx;
  }
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  return mx;
}

// sum_vec and max_vec of R rows at once (row r at x + r · stride): each row's
// result is the same float as the one-row function's (the same operations in
// the same order), but the R rows' serial 16-lane reductions interleave — one
// row's chain of dependent adds waits ~4 cycles per lane, R chains side by
// side do not (measured: LayerNorm and softmax of 64-wide rows spent most of
// their time there).
template <int R>
BB_INLINE void sum_vec_rows(const float* x, int64_t stride, int64_t n, float* out) {
  f32x16 acc[R] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int r = 0; r < R; ++r) acc[r] += BB_LOAD16(x + r * stride + j);
  float s[R] = {};
  for (int l = 0; l < 16; ++l)
    for (int r = 0; r < R; ++r) s[r] += acc[r][l];
  for (; j < n; ++j)
    for (int r = 0; r < R; ++r) s[r] += x[r * stride + j];
  for (int r = 0; r < R; ++r) out[r] = s[r];
}
template <int R>
BB_INLINE void max_vec_rows(const float* x, int64_t stride, int64_t n, float* out) {
  float mx[R];
  for (int r = 0; r < R; ++r) mx[r] = x[r * stride];
  int64_t j = 0;
  if (n >= 16) {
    f32x16 m[R];
    for (int r = 0; r < R; ++r) m[r] = BB_LOAD16(x + r * stride);
    for (j = 16; j + 16 <= n; j += 16)
      for (int r = 0; r < R; ++r) {
        const f32x16 v = BB_LOAD16(x + r * stride + j);
        m[r] = v > m[r] ? v : m[r];
      }
    for (int l = 0; l < 16; ++l)
      for (int r = 0; r < R; ++r) mx[r] = m[r][l] > mx[r] ? m[r][l] : mx[r];
  }
  for (; j < n; ++j)
    for (int r = 0; r < R; ++r) mx[r] = x[r * stride + j] > mx[r] ? x[r * stride + j] : mx[r];
  for (int r = 0; r < R; ++r) out[r] = mx[r];
}

// Softmax of s[0, n) in place.
BB_INLINE void softmax_inplace(float* s, int64_t n) {
  const float mx = max_vec(s, n);
  for (int64_t j = 0; j < n; ++j) s[j] = exp_approx(s[j] - mx);
  const float inv = 1.0f / sum_vec(s, n);
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
}
// softmax_inplace of R rows (row r at s + r · stride): the same floats, the
// rows' reductions interleaved (sum_vec_rows, max_vec_rows).
template <int R>
BB_INLINE void softmax_inplace_rows(float* s, int64_t stride, int64_t n) {
  float mx[R], sum[R];
  max_vec_rows<R>(s, stride, n, mx);
  for (int r = 0; r < R; ++r)
    for (int64_t j = 0; j < n; ++j) s[r * stride + j] = exp_approx(s[r * stride + j] - mx[r]);
  sum_vec_rows<R>(s, stride, n, sum);
  for (int r = 0; r < R; ++r) {
    const float inv = 1.0f / sum[r];
    for (int64_t j = 0; j < n; ++j) s[r * stride + j] *= inv;
  }
}

// exp_approx on 16 lanes, in place: the same operations per element (so the
// same floats), written on the vector type so a whole padded row runs without
// a scalar tail. (By reference: no vector-by-value ABI between ISA targets.)
BB_INLINE void exp_approx16(f32x16& v) {
  typedef int32_t i32x16 __attribute__((vector_size(64)));
  f32x16 n;
  exp_poly(v, n);  // v is now p
  const i32x16 e = (__builtin_convertvector(n, i32x16) + 127) << 23;  // 2^n
  f32x16 scale;
  __builtin_memcpy(&scale, &e, sizeof scale);
  v = v * scale;
}

// Softmax of row[0, n) in place, for a row with room for a whole number of
// 16-float blocks (np >= n, a multiple of 16): every pass runs on whole
// 16-float vectors (max and sum as 16-wide reductions); row[n, np) is left zero.
BB_INLINE void softmax_padded(float* row, int64_t n, int64_t np) {
  for (int64_t j = n; j < np; ++j) row[j] = -3.0e38f;
  f32x16 m = BB_LOAD16(row);
  for (int64_t j = 16; j < np; j += 16) {
    const f32x16 x = BB_LOAD16(row + j);
    m = x > m ? x : m;
  }
  float mx = m[0];
  for (int l = 1; l < 16; ++l) mx = m[l] > mx ? m[l] : mx;
  f32x16 s = {};
  for (int64_t j = 0; j < np; j += 16) {
    f32x16 e = BB_LOAD16(row + j) - mx;
    exp_approx16(e);
    if (j + 16 > n)  // the block holding the end of the row: padding lanes are zero
      for (int l = 0; l < 16; ++l)
        if (j + l >= n) e[l] = 0;
    BB_STORE16(row + j, e);
    s += e;
  }
  float sum = 0;
  for (int l = 0; l < 16; ++l) sum += s[l];
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < np; j += 16) BB_STORE16(row + j, BB_LOAD16(row + j) * inv);
}

// softmax_padded of R rows (row r at rows + r · np): the same floats as R calls,
// the rows' horizontal max and sum interleaved.
template <int R>
BB_INLINE void softmax_padded_rows(float* rows, int64_t n, int64_t np) {
  float mx[R], sum[R];
  f32x16 m[R], s[R];
  for (int r = 0; r < R; ++r) {
    float* row = rows + r * np;
    for (int64_t j = n; j < np; ++j) row[j] = -3.0e38f;
    m[r] = BB_LOAD16(row);
    for (int64_t j = 16; j < np; j += 16) {
      const f32x16 x = BB_LOAD16(row + j);
      m[r] = x > m[r] ? x : m[r];
    }
    mx[r] = m[r][0];
  }
  for (int l = 1; l < 16; ++l)
    for (int r = 0; r < R; ++r) mx[r] = m[r][l] > mx[r] ? m[r][l] : mx[r];
  for (int r = 0; r < R; ++r) {
    float* row = rows + r * np;
    s[r] = f32x16{};
    for (int64_t j = 0; j < np; j += 16) {
      f32x16 e = BB_LOAD16(row + j) - mx[r];
      exp_approx16(e);
      if (j + 16 > n)
        for (int l = 0; l < 16; ++l)
          if (j + l >= n) e[l] = 0;
      BB_STORE16(row + j, e);
      s[r] += e;
    }
    sum[r] = 0;
  }
  for (int l = 0; l < 16; ++l)
    for (int r = 0; r < R; ++r) sum[r] += s[r][l];
  for (int r = 0; r < R; ++r) {
    const float inv = 1.0f / sum[r];
    float* row = rows + r * np;
    for (int64_t j = 0; j < np; j += 16) BB_STORE16(row + j, BB_LOAD16(row + j) * inv);
  }
}

// softmax_padded of rows[nrows, np]: four rows at a time, the rest one by one.
BB_INLINE void softmax_padded_block_rows(float* rows, int64_t nrows, int64_t n, int64_t np) {
  int64_t r = 0;
  for (; r + 4 <= nrows; r += 4) softmax_padded_rows<4>(rows + r * np, n, np);
  for (; r < nrows; ++r) softmax_padded(rows + r * np, n, np);
}

}  // namespace bb
