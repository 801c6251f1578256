#include "datasets/transforms.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.hpp"
#include "datasets/image_decode.hpp"
#include "datasets/pillow_resize.hpp"

namespace bb {
namespace {

int cv_interpolation(const std::string& name) {
  if (name == "bicubic") return cv::INTER_CUBIC;
  if (name == "nearest") return cv::INTER_NEAREST;
  if (name == "area") return cv::INTER_AREA;
  if (name == "bilinear") return cv::INTER_LINEAR;
  throw Error::usage("interpolation " + name + " is Pillow's: use it with resize pillow");
}

// One resize as the transform config says: Pillow's (the default, what timm's
// eval pipeline runs) or OpenCV's.
cv::Mat resize_to(const cv::Mat& img, int w, int h, const std::string& interpolation, const std::string& resize) {
  check_resize_target(img, w, h);
  if (resize == "opencv") {
    cv::Mat out;
    cv::resize(img, out, cv::Size(w, h), 0, 0, cv_interpolation(interpolation));
    return out;
  }
  if (interpolation == "area") throw Error::usage("interpolation area is OpenCV's: use box with resize pillow");
  return pillow_resize(img, w, h, parse_pillow_filter(interpolation));
}

// "img_size 12 / crop_pct 5e-07", for messages.
std::string eval_size_text(int img_size, double crop_pct) {
  char crop[32];
  std::snprintf(crop, sizeof crop, "%g", crop_pct);
  return "img_size " + std::to_string(img_size) + " / crop_pct " + crop;
}

// timm's resize size, floor(img_size / crop_pct), refused when it is no size
// an image can have (crop_pct 0 or NaN, or small enough to overflow an int).
int64_t eval_resize_size(int img_size, double crop_pct) {
  const double size = std::floor(img_size / crop_pct);
  if (!(size >= 0 && size <= std::numeric_limits<int>::max()))
    throw Error::input("", "resize to " + eval_size_text(img_size, crop_pct) + " pixels: not a size an image can have");
  return static_cast<int64_t>(size);
}

// torchvision Resize(int): the shorter side becomes `size`, the longer keeps
// the aspect (truncated). In 64 bits and checked against the image budget
// before it becomes an int: a tiny crop_pct makes sizes beyond int.
cv::Size shorter_side_size(const cv::Mat& img, int64_t size, const std::string& why) {
  const int64_t h = img.rows, w = img.cols;
  const int64_t out_w = h <= w ? std::max<int64_t>(size * w / h, 1) : std::max<int64_t>(size, 1);
  const int64_t out_h = h <= w ? std::max<int64_t>(size, 1) : std::max<int64_t>(size * h / w, 1);
  check_resize_target(img, out_w, out_h, why);
  return {static_cast<int>(out_w), static_cast<int>(out_h)};
}

cv::Mat resize_shorter(const cv::Mat& img, int64_t size, const std::string& interpolation, const std::string& resize,
                       const std::string& why) {
  if (std::min(img.rows, img.cols) == size) return img;
  const cv::Size s = shorter_side_size(img, size, why);
  return resize_to(img, s.width, s.height, interpolation, resize);
}

// torchvision CenterCrop's offsets in an image at least `size` each way: rounded half to even (Python's round).
cv::Rect center_crop_rect(cv::Size img, int size) {
  return {static_cast<int>(std::nearbyint((img.width - size) / 2.0)),
          static_cast<int>(std::nearbyint((img.height - size) / 2.0)), size, size};
}

// torchvision CenterCrop: pads with zeros if the image is smaller.
cv::Mat center_crop(const cv::Mat& img, int size) {
  if (img.rows == size && img.cols == size) return img;
  if (img.rows < size || img.cols < size) {
    cv::Mat padded;
    int pt = std::max(0, (size - img.rows) / 2), pl = std::max(0, (size - img.cols) / 2);
    cv::copyMakeBorder(img, padded, pt, std::max(0, size - img.rows - pt), pl, std::max(0, size - img.cols - pl),
                       cv::BORDER_CONSTANT, cv::Scalar::all(0));
    return center_crop(padded, size);
  }
  return img(center_crop_rect(img.size(), size));
}

// Writes the normalised CHW floats of `img` (already img_size x img_size) taken
// through an optional pad-crop offset and flip: output pixel (y, x) reads
// source (y + dy, x + dx) (mirrored in x when flip), zero outside.
void to_chw(const cv::Mat& img, const TransformConfig& t, int dy, int dx, bool flip, float* out) {
  const int S = t.img_size, C = t.in_chans, src_c = img.channels();
  float scale[3], bias[3];
  for (int c = 0; c < C; ++c) {
    scale[c] = static_cast<float>(1.0 / (255.0 * t.std[static_cast<size_t>(c)]));
    bias[c] = static_cast<float>(-t.mean[static_cast<size_t>(c)] / t.std[static_cast<size_t>(c)]);
  }
  const size_t plane = static_cast<size_t>(S) * S;
  if (dy == 0 && dx == 0 && !flip && src_c == C && img.rows >= S && img.cols >= S) {
    // The eval case: every pixel inside, channels as they are (the same
    // arithmetic as below, without its per-pixel tests).
    for (int y = 0; y < S; ++y) {
      const uint8_t* row = img.ptr<uint8_t>(y);
      for (int c = 0; c < C; ++c) {
        float* o = out + static_cast<size_t>(c) * plane + static_cast<size_t>(y) * S;
        const float sc = scale[c], bi = bias[c];
        for (int x = 0; x < S; ++x) o[x] = static_cast<float>(row[x * C + c]) * sc + bi;
      }
    }
    return;
  }
  for (int y = 0; y < S; ++y) {
    int sy = y + dy;
    const uint8_t* row = (sy >= 0 && sy < img.rows) ? img.ptr<uint8_t>(sy) : nullptr;
    for (int x = 0; x < S; ++x) {
      int sx = (flip ? S - 1 - x : x) + dx;
      float v[3] = {0, 0, 0};
      if (row && sx >= 0 && sx < img.cols) {
        const uint8_t* p = row + static_cast<size_t>(sx) * static_cast<size_t>(src_c);
        if (src_c == C) {
          for (int c = 0; c < C; ++c) v[c] = p[c];
        } else if (src_c == 1) {
          v[0] = v[1] = v[2] = p[0];
        } else {  // RGB -> luma, rounded like PIL
          v[0] = std::floor((p[0] * 299 + p[1] * 587 + p[2] * 114 + 500) / 1000.0f);
        }
      }
      size_t o = static_cast<size_t>(y) * S + static_cast<size_t>(x);
      for (int c = 0; c < C; ++c) out[static_cast<size_t>(c) * plane + o] = v[c] * scale[c] + bias[c];
    }
  }
}

cv::Mat random_resized_crop(const cv::Mat& img, const TransformConfig& t, const AugmentConfig& a, Rng& rng) {
  const double area = static_cast<double>(img.rows) * img.cols;
  const double log_lo = std::log(a.ratio[0]), log_hi = std::log(a.ratio[1]);
  int h = 0, w = 0, top = 0, left = 0;
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    double target = area * rng.uniform(a.scale[0], a.scale[1]);
    double ratio = std::exp(rng.uniform(log_lo, log_hi));
    w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
    h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
    if (w > 0 && h > 0 && w <= img.cols && h <= img.rows) {
      top = static_cast<int>(rng.below(static_cast<uint64_t>(img.rows - h + 1)));
      left = static_cast<int>(rng.below(static_cast<uint64_t>(img.cols - w + 1)));
      found = true;
    }
  }
  if (!found) {  // torchvision's fallback: the central crop with the ratio clamped
    double in_ratio = static_cast<double>(img.cols) / img.rows;
    if (in_ratio < a.ratio[0]) {
      w = img.cols;
      h = static_cast<int>(std::lround(w / a.ratio[0]));
    } else if (in_ratio > a.ratio[1]) {
      h = img.rows;
      w = static_cast<int>(std::lround(h * a.ratio[1]));
    } else {
      w = img.cols;
      h = img.rows;
    }
    h = std::clamp(h, 1, img.rows);
    w = std::clamp(w, 1, img.cols);
    top = (img.rows - h) / 2;
    left = (img.cols - w) / 2;
  }
  // torchvision's resized_crop on a PIL image: the crop, then the resize.
  return resize_to(img(cv::Rect(left, top, w, h)).clone(), t.img_size, t.img_size, t.interpolation, t.resize);
}

}  // namespace

cv::Mat resize_center_crop(const cv::Mat& img, int img_size, double crop_pct, const std::string& interpolation,
                           const std::string& resize) {
  const int64_t scale_size = eval_resize_size(img_size, crop_pct);
  const std::string why = eval_size_text(img_size, crop_pct);
  if (resize != "opencv" && interpolation != "area" && std::min(img.rows, img.cols) != scale_size) {
    // Pillow's resize computes only the center crop's pixels: the same bytes
    // as resizing everything and cropping.
    const cv::Size s = shorter_side_size(img, scale_size, why);
    if (s.width >= img_size && s.height >= img_size)
      return pillow_resize(img, s.width, s.height, parse_pillow_filter(interpolation), center_crop_rect(s, img_size));
  }
  return center_crop(resize_shorter(img, scale_size, interpolation, resize, why), img_size);
}

void eval_transform(const cv::Mat& img, const TransformConfig& t, float* out) {
  if (img.empty() || img.depth() != CV_8U || (img.channels() != 1 && img.channels() != 3))
    throw Error::runtime("", "eval_transform: expected a non-empty uint8 gray or RGB image");
  cv::Mat m = resize_center_crop(img, t.img_size, t.crop_pct, t.interpolation, t.resize);
  to_chw(m, t, 0, 0, false, out);
}

void eval_transform_file(const std::string& path, const TransformConfig& t, float* out) {
  naming_input_errors(path, [&] { eval_transform(decode_image_file(path), t, out); });
}

void train_transform(const cv::Mat& img, const TransformConfig& t, const AugmentConfig& a, Rng& rng, float* out) {
  if (img.empty() || img.depth() != CV_8U || (img.channels() != 1 && img.channels() != 3))
    throw Error::runtime("", "train_transform: expected a non-empty uint8 gray or RGB image");
  cv::Mat m;
  int dy = 0, dx = 0;
  if (a.random_resized_crop) {
    m = random_resized_crop(img, t, a, rng);
  } else {
    // Training sees the whole image at img_size (crop_pct 1), then the padded random crop.
    m = resize_center_crop(img, t.img_size, 1.0, t.interpolation, t.resize);
    if (a.pad > 0) {
      dy = static_cast<int>(rng.below(static_cast<uint64_t>(2 * a.pad + 1))) - a.pad;
      dx = static_cast<int>(rng.below(static_cast<uint64_t>(2 * a.pad + 1))) - a.pad;
    }
  }
  bool flip = a.hflip > 0 && rng.uniform() < a.hflip;
  to_chw(m, t, dy, dx, flip, out);
}

}  // namespace bb
