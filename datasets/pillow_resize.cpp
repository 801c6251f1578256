#include "datasets/pillow_resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "datasets/image_limits.hpp"
#include "core/simd.hpp"

namespace bb {
namespace {

// Pillow's resampling filters: value at x (in source pixels, scaled) and support.
double box_filter(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }
double bilinear_filter(double x) {
  x = x < 0 ? -x : x;
  return x < 1.0 ? 1.0 - x : 0.0;
}
double hamming_filter(double x) {
  x = x < 0 ? -x : x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * M_PI;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));  // float constants, as Pillow writes them
}
double bicubic_filter(double x) {
  constexpr double a = -0.5;  // Pillow's (OpenCV uses -0.75)
  x = x < 0 ? -x : x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * M_PI;
  return std::sin(x) / x;
}
double lanczos_filter(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

struct Filter {
  double (*f)(double);
  double support;
};
Filter filter_of(PillowFilter p) {
  switch (p) {
    case PillowFilter::kBox: return {box_filter, 0.5};
    case PillowFilter::kBilinear: return {bilinear_filter, 1.0};
    case PillowFilter::kHamming: return {hamming_filter, 1.0};
    case PillowFilter::kBicubic: return {bicubic_filter, 2.0};
    case PillowFilter::kLanczos: return {lanczos_filter, 3.0};
    case PillowFilter::kNearest: break;
  }
  throw Error::usage("pillow_resize: nearest has no filter");
}

constexpr int kPrecisionBits = 32 - 8 - 2;  // fixed point of the coefficients

// Taps per output pixel: the filter's support widened by the shrink factor.
int kernel_size(int in_size, int out_size, const Filter& filter) {
  const double filterscale = std::max(static_cast<double>(in_size) / out_size, 1.0);
  return static_cast<int>(std::ceil(filter.support * filterscale)) * 2 + 1;
}

// One axis, for output indices [o0, o0 + n) only (a center crop needs no
// table for the pixels it drops): for each, the first source index, how many,
// and that many fixed-point weights (ksize per output, zero padded). Each
// entry depends on its own index alone, so the entries equal the whole table's.
struct Coeffs {
  int o0 = 0, ksize = 0;
  std::vector<int> first, count;  // [n], index o - o0
  std::vector<int32_t> k;         // [n, ksize]
};

Coeffs coefficients(int in_size, int out_size, const Filter& filter, int o0, int n) {
  const double in0 = 0, in1 = in_size;
  const double scale = (in1 - in0) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);  // widen the support when shrinking
  const double support = filter.support * filterscale;
  Coeffs c;
  c.o0 = o0;
  c.ksize = kernel_size(in_size, out_size, filter);
  c.first.resize(static_cast<size_t>(n));
  c.count.resize(static_cast<size_t>(n));
  c.k.assign(static_cast<size_t>(n) * static_cast<size_t>(c.ksize), 0);
  std::vector<double> w(static_cast<size_t>(c.ksize));
  for (int i = 0; i < n; ++i) {
    const int xx = o0 + i;
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);  // truncation toward zero, as a C cast
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0;
    for (int x = 0; x < xmax; ++x) {
      w[static_cast<size_t>(x)] = filter.f((x + xmin - center + 0.5) * ss);
      ww += w[static_cast<size_t>(x)];
    }
    for (int x = 0; x < xmax; ++x) {
      double v = ww != 0.0 ? w[static_cast<size_t>(x)] / ww : w[static_cast<size_t>(x)];
      v *= static_cast<double>(1 << kPrecisionBits);
      c.k[static_cast<size_t>(i) * static_cast<size_t>(c.ksize) + static_cast<size_t>(x)] =
          static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);
    }
    c.first[static_cast<size_t>(i)] = xmin;
    c.count[static_cast<size_t>(i)] = xmax;
  }
  return c;
}

// One output row of a vertical pass: out[i] = clip8(half + Σ_t rows[t][i]·k[t])
// for i < n, where clip8 is Pillow's (>> 22, clamped to 0..255). The sum is
// exact in int32 (8-bit pixels × 22-bit weights), so any summation order gives
// Pillow's bytes. The horizontal pass runs through it too, on the transposed
// image.
// W outputs at a time (16: one zmm or four xmm; 8: one ymm) with their sums
// in registers across the taps; the tail one by one, the same sums.
template <int W>
struct Lanes;
template <>
struct Lanes<16> {
  typedef uint8_t u8 __attribute__((vector_size(16)));
  typedef uint8_t u8u __attribute__((vector_size(16), aligned(1), may_alias));
  typedef int16_t i16 __attribute__((vector_size(32)));
  typedef int32_t i32 __attribute__((vector_size(64)));
};
template <>
struct Lanes<8> {
  typedef uint8_t u8 __attribute__((vector_size(8)));
  typedef uint8_t u8u __attribute__((vector_size(8), aligned(1), may_alias));
  typedef int16_t i16 __attribute__((vector_size(16)));
  typedef int32_t i32 __attribute__((vector_size(32)));
};

template <int W>
BB_INLINE void resample_row_body(const uint8_t* const* rows, const int32_t* k, int taps, int n, uint8_t* out) {
  using u8xW = typename Lanes<W>::u8;
  using u8xWu = typename Lanes<W>::u8u;
  using i16xW = typename Lanes<W>::i16;
  using i32xW = typename Lanes<W>::i32;
  int i = 0;
  for (; i + W <= n; i += W) {
    i32xW acc = i32xW{} + (1 << (kPrecisionBits - 1));
    for (int t = 0; t < taps; ++t) {
      const u8xW b = *reinterpret_cast<const u8xWu*>(rows[t] + i);
      // u8 -> i16 -> i32 (a direct u8 -> i32 conversion is not vectorised by GCC 12).
      acc += __builtin_convertvector(__builtin_convertvector(b, i16xW), i32xW) * k[t];
    }
    acc >>= kPrecisionBits;
    acc &= ~(acc < 0);              // clip8: below 0 -> 0
    const i32xW high = acc > 255;   // above 255 -> 255
    acc = (acc & ~high) | (high & 255);
    *reinterpret_cast<u8xWu*>(out + i) = __builtin_convertvector(acc, u8xW);
  }
  for (; i < n; ++i) {
    int32_t a = 1 << (kPrecisionBits - 1);
    for (int t = 0; t < taps; ++t) a += static_cast<int32_t>(rows[t][i]) * k[t];
    a >>= kPrecisionBits;
    out[i] = static_cast<uint8_t>(a < 0 ? 0 : a > 255 ? 255 : a);
  }
}
BB_TARGET_AVX512 void resample_row_avx512(const uint8_t* const* rows, const int32_t* k, int taps, int n, uint8_t* out) {
  resample_row_body<16>(rows, k, taps, n, out);
}
BB_TARGET_AVX2 void resample_row_avx2(const uint8_t* const* rows, const int32_t* k, int taps, int n, uint8_t* out) {
  resample_row_body<8>(rows, k, taps, n, out);
}
void resample_row_generic(const uint8_t* const* rows, const int32_t* k, int taps, int n, uint8_t* out) {
  resample_row_body<16>(rows, k, taps, n, out);  // four xmm: measured faster than 8 on the baseline ISA
}
void resample_row(const uint8_t* const* rows, const int32_t* k, int taps, int n, uint8_t* out) {
  switch (active_isa()) {
    case Isa::kAvx512: return resample_row_avx512(rows, k, taps, n, out);
    case Isa::kAvx2: return resample_row_avx2(rows, k, taps, n, out);
    default: return resample_row_generic(rows, k, taps, n, out);
  }
}

// out[count, w, C] = the vertical pass for output indices [o0, o0 + count) of
// `c`; src row r holds source row r + row0.
void vertical(const cv::Mat& src, int row0, const Coeffs& c, int o0, int count, cv::Mat& out) {
  out.create(count, src.cols, src.type());
  const int n = src.cols * src.channels();
  std::vector<const uint8_t*> rows(static_cast<size_t>(c.ksize));
  for (int yy = 0; yy < count; ++yy) {
    const size_t o = static_cast<size_t>(o0 + yy - c.o0);
    const int ymin = c.first[o] - row0, taps = c.count[o];
    for (int t = 0; t < taps; ++t) rows[static_cast<size_t>(t)] = src.ptr<uint8_t>(ymin + t);
    resample_row(rows.data(), c.k.data() + o * static_cast<size_t>(c.ksize), taps, n, out.ptr<uint8_t>(yy));
  }
}

// Rows per band of the horizontal pass.
constexpr int kBandRows = 64;

// out[rows, count, C] = the horizontal pass for output columns [o0, o0 +
// count): the vertical pass over transposed rows, a band of kBandRows at a
// time, so no transposed copy of the whole image is made.
void horizontal(const cv::Mat& rows, const Coeffs& c, int o0, int count, cv::Mat& out) {
  out.create(rows.rows, count, rows.type());
  cv::Mat t, th;
  for (int r = 0; r < rows.rows; r += kBandRows) {
    const int n = std::min(kBandRows, rows.rows - r);
    cv::transpose(rows.rowRange(r, r + n), t);
    vertical(t, 0, c, o0, count, th);
    cv::Mat band = out.rowRange(r, r + n);
    cv::transpose(th, band);  // into out: band has th's transposed size and type already
  }
}

// The source index under output pixels [o0, o0 + n) as Pillow's scaling
// transform finds it: a position that starts at s / 2 and adds s per output
// pixel in double (the sum's rounding included), truncated; s = in / out.
std::vector<int> nearest_positions(int n_in, int n_out, int o0, int n) {
  std::vector<int> at(static_cast<size_t>(n));
  const double s = static_cast<double>(n_in) / n_out;
  double pos = s * 0.5;
  for (int i = 0; i < o0 + n; ++i, pos += s)
    if (i >= o0) at[static_cast<size_t>(i - o0)] = std::min(n_in - 1, static_cast<int>(pos));
  return at;
}

// The `roi` of NEAREST's out_w × out_h result.
cv::Mat nearest(const cv::Mat& src, int out_w, int out_h, const cv::Rect& roi) {
  const int C = src.channels();
  const std::vector<int> xs = nearest_positions(src.cols, out_w, roi.x, roi.width),
                         ys = nearest_positions(src.rows, out_h, roi.y, roi.height);
  cv::Mat out(roi.height, roi.width, src.type());
  for (int y = 0; y < roi.height; ++y) {
    const uint8_t* in = src.ptr<uint8_t>(ys[static_cast<size_t>(y)]);
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < roi.width; ++x)
      for (int ch = 0; ch < C; ++ch) o[x * C + ch] = in[xs[static_cast<size_t>(x)] * C + ch];
  }
  return out;
}

uint64_t image_bytes(const cv::Mat& m) { return static_cast<uint64_t>(m.total()) * m.elemSize(); }

// What the budget leaves for a resize of `src`, which is held meanwhile.
uint64_t budget_left(const cv::Mat& src) {
  return kImageBudgetBytes > image_bytes(src) ? kImageBudgetBytes - image_bytes(src) : 0;
}

std::string resize_text(const cv::Mat& src, int64_t out_w, int64_t out_h) {
  return "resize of " + std::to_string(src.cols) + "x" + std::to_string(src.rows) + " to " + std::to_string(out_w) + "x" +
         std::to_string(out_h);
}

// Bytes this resize allocates for the kept region `roi`: both axes' tables,
// the horizontal pass's bands and its rows (at most every source row), the result.
uint64_t resize_work_bytes(const cv::Mat& src, const cv::Rect& roi, int ksize_h, int ksize_v) {
  const uint64_t C = static_cast<uint64_t>(src.channels()), w = static_cast<uint64_t>(roi.width),
                 h = static_cast<uint64_t>(roi.height);
  const uint64_t tables = (w * (static_cast<uint64_t>(ksize_h) + 2) + h * (static_cast<uint64_t>(ksize_v) + 2)) * 4;
  const uint64_t bands = 2 * kBandRows * (static_cast<uint64_t>(src.cols) + w) * C;
  const uint64_t rows = static_cast<uint64_t>(src.rows) * w * C;
  return tables + bands + rows + w * h * C;
}

}  // namespace

PillowFilter parse_pillow_filter(const std::string& name) {
  if (name == "nearest") return PillowFilter::kNearest;
  if (name == "box") return PillowFilter::kBox;
  if (name == "bilinear") return PillowFilter::kBilinear;
  if (name == "hamming") return PillowFilter::kHamming;
  if (name == "bicubic") return PillowFilter::kBicubic;
  if (name == "lanczos") return PillowFilter::kLanczos;
  throw Error::usage("unknown resize filter '" + name + "' (nearest, box, bilinear, hamming, bicubic, lanczos)");
}

cv::Mat pillow_resize(const cv::Mat& src, int out_w, int out_h, PillowFilter filter) {
  return pillow_resize(src, out_w, out_h, filter, cv::Rect(0, 0, out_w, out_h));
}

void check_resize_target(const cv::Mat& src, int64_t out_w, int64_t out_h, const std::string& why) {
  const uint64_t left = budget_left(src);
  // In double: sizes up to 2^31 each would overflow a product in 64 bits.
  const double bytes = static_cast<double>(out_w) * static_cast<double>(out_h) * src.channels();
  if (out_w > std::numeric_limits<int>::max() || out_h > std::numeric_limits<int>::max() ||
      bytes > static_cast<double>(left))
    throw Error::input("", resize_text(src, out_w, out_h) + (why.empty() ? "" : " (" + why + ")") + " needs " +
                               byte_size_text(static_cast<uint64_t>(std::min(bytes, 1e19))) +
                               " for the resized image (Pillow makes it whole before timm's center crop), more than the " +
                               byte_size_text(left) + " the image budget leaves for it");
}

cv::Mat pillow_resize(const cv::Mat& src, int out_w, int out_h, PillowFilter filter, const cv::Rect& roi) {
  if (src.depth() != CV_8U || (src.channels() != 1 && src.channels() != 3))
    throw Error::usage("pillow_resize: 8-bit images of 1 or 3 channels only");
  if (out_w < 1 || out_h < 1 || src.empty()) throw Error::usage("pillow_resize: empty image or size");
  if (roi.x < 0 || roi.y < 0 || roi.width < 1 || roi.height < 1 || roi.x + roi.width > out_w || roi.y + roi.height > out_h)
    throw Error::usage("pillow_resize: the region to keep lies outside the output");
  check_resize_target(src, out_w, out_h);
  if (out_w == src.cols && out_h == src.rows) return src(roi).clone();
  if (filter == PillowFilter::kNearest) return nearest(src, out_w, out_h, roi);
  const Filter f = filter_of(filter);
  const bool need_h = out_w != src.cols, need_v = out_h != src.rows;
  if (resize_work_bytes(src, roi, kernel_size(src.cols, out_w, f), kernel_size(src.rows, out_h, f)) > budget_left(src))
    throw Error::input("", resize_text(src, out_w, out_h) + " needs more than the " + byte_size_text(budget_left(src)) +
                               " the image budget leaves for it");
  const Coeffs ch = coefficients(src.cols, out_w, f, roi.x, roi.width);
  const Coeffs cv_ = coefficients(src.rows, out_h, f, roi.y, roi.height);
  // Source rows the kept output rows read: only those go through the horizontal pass.
  int first_row = roi.y, last_row = roi.y + roi.height;
  if (need_v) {
    first_row = src.rows;
    last_row = 0;
    for (size_t i = 0; i < cv_.first.size(); ++i) {
      first_row = std::min(first_row, cv_.first[i]);
      last_row = std::max(last_row, cv_.first[i] + cv_.count[i]);
    }
  }
  cv::Mat rows = src.rowRange(first_row, last_row), mid;
  if (need_h)
    horizontal(rows, ch, roi.x, roi.width, mid);
  else
    mid = rows.colRange(roi.x, roi.x + roi.width);
  if (!need_v) return mid.clone();
  cv::Mat out;
  vertical(mid, first_row, cv_, roi.y, roi.height, out);
  return out;
}

}  // namespace bb
