#pragma once
// PNG and JPEG encoding of 8-bit RGB or grey images, on the libpng and
// libjpeg that decoding already links: the contact sheet and the test
// fixtures need it, and OpenCV's imgcodecs would bring GDAL and ~120 more
// packages for two encoders.
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace bb {

// img: CV_8UC1 (grey) or CV_8UC3 (RGB order). Error(Runtime) if the library fails.
std::vector<uint8_t> encode_png(const cv::Mat& img);
// quality 1..100, libjpeg's defaults otherwise (4:2:0 chroma, baseline, not optimised).
std::vector<uint8_t> encode_jpeg(const cv::Mat& img, int quality);

}  // namespace bb
