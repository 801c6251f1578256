#include "datasets/pillow_resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.hpp"

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

// One axis: for each output index, the first source index, how many, and
// that many fixed-point weights (ksize per output, zero padded).
struct Coeffs {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> k;  // [out, ksize]
};

Coeffs coefficients(int in_size, int out_size, const Filter& filter) {
  const double in0 = 0, in1 = in_size;
  const double scale = (in1 - in0) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);  // widen the support when shrinking
  const double support = filter.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<size_t>(out_size));
  c.count.resize(static_cast<size_t>(out_size));
  c.k.assign(static_cast<size_t>(out_size) * static_cast<size_t>(c.ksize), 0);
  std::vector<double> w(static_cast<size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
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
      c.k[static_cast<size_t>(xx) * static_cast<size_t>(c.ksize) + static_cast<size_t>(x)] =
          static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);
    }
    c.first[static_cast<size_t>(xx)] = xmin;
    c.count[static_cast<size_t>(xx)] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

// out[rows, out_w, C] = horizontal pass over src rows [row0, row0 + rows).
void horizontal(const cv::Mat& src, int row0, int rows, const Coeffs& c, int C, cv::Mat& out) {
  const int out_w = static_cast<int>(c.first.size());
  out.create(rows, out_w, src.type());
  for (int y = 0; y < rows; ++y) {
    const uint8_t* in = src.ptr<uint8_t>(row0 + y);
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int xx = 0; xx < out_w; ++xx) {
      const int xmin = c.first[static_cast<size_t>(xx)], n = c.count[static_cast<size_t>(xx)];
      const int32_t* k = c.k.data() + static_cast<size_t>(xx) * static_cast<size_t>(c.ksize);
      for (int ch = 0; ch < C; ++ch) {
        int32_t ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < n; ++x) ss += static_cast<int32_t>(in[(x + xmin) * C + ch]) * k[x];
        o[xx * C + ch] = clip8(ss);
      }
    }
  }
}

// out[out_h, w, C] = vertical pass; source row indices offset by -row0.
void vertical(const cv::Mat& src, int row0, const Coeffs& c, int C, cv::Mat& out) {
  const int out_h = static_cast<int>(c.first.size()), w = src.cols;
  out.create(out_h, w, src.type());
  std::vector<int32_t> acc(static_cast<size_t>(w * C));
  for (int yy = 0; yy < out_h; ++yy) {
    const int ymin = c.first[static_cast<size_t>(yy)] - row0, n = c.count[static_cast<size_t>(yy)];
    const int32_t* k = c.k.data() + static_cast<size_t>(yy) * static_cast<size_t>(c.ksize);
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < n; ++y) {  // row by row: contiguous reads, the same sums per pixel
      const uint8_t* in = src.ptr<uint8_t>(ymin + y);
      for (int i = 0; i < w * C; ++i) acc[static_cast<size_t>(i)] += static_cast<int32_t>(in[i]) * k[y];
    }
    uint8_t* o = out.ptr<uint8_t>(yy);
    for (int i = 0; i < w * C; ++i) o[i] = clip8(acc[static_cast<size_t>(i)]);
  }
}

cv::Mat nearest(const cv::Mat& src, int out_w, int out_h, int C) {
  // The source pixel under each output pixel's centre, as Pillow's scaling
  // transform finds it: a position that starts at s / 2 and adds s per output
  // pixel in double (the sum's rounding included), truncated; s = in / out.
  auto positions = [](int n_in, int n_out) {
    std::vector<int> at(static_cast<size_t>(n_out));
    const double s = static_cast<double>(n_in) / n_out;
    double pos = s * 0.5;
    for (int i = 0; i < n_out; ++i, pos += s) at[static_cast<size_t>(i)] = std::min(n_in - 1, static_cast<int>(pos));
    return at;
  };
  const std::vector<int> xs = positions(src.cols, out_w), ys = positions(src.rows, out_h);
  cv::Mat out(out_h, out_w, src.type());
  for (int y = 0; y < out_h; ++y) {
    const uint8_t* in = src.ptr<uint8_t>(ys[static_cast<size_t>(y)]);
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < out_w; ++x)
      for (int ch = 0; ch < C; ++ch) o[x * C + ch] = in[xs[static_cast<size_t>(x)] * C + ch];
  }
  return out;
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
  if (src.depth() != CV_8U || (src.channels() != 1 && src.channels() != 3))
    throw Error::usage("pillow_resize: 8-bit images of 1 or 3 channels only");
  if (out_w < 1 || out_h < 1 || src.empty()) throw Error::usage("pillow_resize: empty image or size");
  const int C = src.channels();
  if (out_w == src.cols && out_h == src.rows) return src.clone();
  if (filter == PillowFilter::kNearest) return nearest(src, out_w, out_h, C);
  const Filter f = filter_of(filter);
  const bool need_h = out_w != src.cols, need_v = out_h != src.rows;
  const Coeffs ch = coefficients(src.cols, out_w, f), cv_ = coefficients(src.rows, out_h, f);
  // The rows the vertical pass reads: only those go through the horizontal pass.
  const int first_row = cv_.first.front(), last_row = cv_.first.back() + cv_.count.back();
  cv::Mat tmp, out;
  if (need_h) {
    horizontal(src, need_v ? first_row : 0, need_v ? last_row - first_row : src.rows, ch, C, tmp);
    if (!need_v) return tmp;
    vertical(tmp, first_row, cv_, C, out);
  } else {
    vertical(src, 0, cv_, C, out);
  }
  return out;
}

}  // namespace bb
