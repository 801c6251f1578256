#pragma once
// From a decoded image (HWC uint8, gray or RGB) to a model input (CHW float,
// normalised), as timm does it.
//   eval:  resize shorter side to floor(img_size / crop_pct) -> center crop img_size
//          -> [0,1] -> (x - mean) / std
//   train: (RandomResizedCrop to img_size) or (eval-style resize/crop to
//          img_size, then random crop after zero padding by `pad`) -> random
//          horizontal flip -> [0,1] -> normalise
// Channels: gray is repeated to 3 when in_chans is 3; RGB becomes gray
// (ITU-R 601 luma, as PIL's "L") when in_chans is 1.
// Resizing: resize "pillow" (the default) is Pillow's Image.resize byte for
// byte (datasets/pillow_resize.hpp, what timm's pipelines run on PIL images);
// "opencv" uses cv::resize (no antialiasing when shrinking, bicubic a = -0.75:
// not timm's numbers), kept for speed comparisons.
#include <opencv2/core.hpp>

#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/dataset_config.hpp"

namespace bb {

// out: [in_chans, img_size, img_size] floats. A resize beyond the image
// budget (datasets/image_limits.hpp; e.g. a tiny crop_pct) is refused with an
// Error(Input) that names no file: the caller knows the image (below).
void eval_transform(const cv::Mat& img, const TransformConfig& t, float* out);
// The image file at `path`, decoded as Pillow does, through eval_transform;
// every refusal names the file.
void eval_transform_file(const std::string& path, const TransformConfig& t, float* out);
void train_transform(const cv::Mat& img, const TransformConfig& t, const AugmentConfig& a, Rng& rng, float* out);

// The eval geometry alone: resized shorter side to floor(img_size / crop_pct),
// then center crop. Returns uint8 HWC with the input's channels.
// Runs f; an input error that names no file is thrown again naming `origin`
// (the image a transform refused).
template <class F>
void naming_input_errors(const std::string& origin, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Input || !e.file().empty()) throw;
    throw Error::input(origin, e.message());
  }
}

cv::Mat resize_center_crop(const cv::Mat& img, int img_size, double crop_pct, const std::string& interpolation,
                           const std::string& resize = "pillow");

}  // namespace bb
