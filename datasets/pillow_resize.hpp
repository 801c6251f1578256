#pragma once
// Image resizing that equals Pillow's Image.resize byte for byte (the resize
// timm's eval transforms run through torchvision on PIL images): separable
// convolution, horizontal pass first over only the rows the vertical pass
// reads, each output pixel's filter support widened by the shrink factor,
// coefficients normalised to sum 1 then held in 22-bit fixed point, and each
// pass rounded and clipped to uint8. NEAREST samples the source pixel under
// each output pixel's centre, found the way Pillow's scaling transform does
// (a double position accumulated pixel by pixel, then truncated). Written from
// Pillow's behaviour and checked against Pillow 9.4 itself, byte for byte, for
// every filter (tests/gen_pillow_resize.py, test_transforms).
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>

namespace bb {

enum class PillowFilter { kNearest, kBox, kBilinear, kHamming, kBicubic, kLanczos };

// "nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"; Error(Usage) otherwise.
PillowFilter parse_pillow_filter(const std::string& name);

// src: CV_8UC1 or CV_8UC3 (any channel order; channels are independent).
// Returns out_w × out_h of the same type.
cv::Mat pillow_resize(const cv::Mat& src, int out_w, int out_h, PillowFilter filter);
// Only the output pixels inside `roi` (a region of the out_w × out_h result),
// each the same bytes as in the whole resize: a center crop after a resize
// computes just what it keeps, tables included. The horizontal pass goes
// through bands of rows, never a transposed copy of the whole image.
cv::Mat pillow_resize(const cv::Mat& src, int out_w, int out_h, PillowFilter filter, const cv::Rect& roi);

// Refuses (Error(Input) without a file: the caller names the image) a resize
// of `src` to out_w × out_h that the image budget (kImageBudgetBytes, less
// `src` itself) cannot hold: the whole resized image, as Pillow makes it
// before timm's center crop. pillow_resize checks this and its own working
// memory (tables, rows); callers with sizes beyond int check here first.
// `why` says where the size came from, for the message ("img_size 12 / crop_pct 5e-07").
void check_resize_target(const cv::Mat& src, int64_t out_w, int64_t out_h, const std::string& why = "");

}  // namespace bb
