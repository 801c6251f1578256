#pragma once
// Image files (JPEG, PNG) checked, then decoded to RGB uint8 as Pillow's
// Image.open(f).convert('RGB') does (datasets/pillow_decode.hpp).
// The header is read first and the image refused when its dimensions are
// absurd, before any pixel memory is allocated; truncated files are refused
// instead of being decoded into half-grey pictures.
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bb {

inline constexpr int kMaxImageSide = 32768;
inline constexpr int64_t kMaxImagePixels = 1ll << 28;  // 268 M pixels
inline constexpr uint64_t kMaxImageFileBytes = 256ull << 20;

enum class ImageFormat { Unknown, Jpeg, Png };

struct ImageHeader {
  ImageFormat format = ImageFormat::Unknown;
  int width = 0, height = 0;
};

// Parses just enough of the file to know format and size, and checks the file
// is complete (PNG: chunks inside the file up to IEND; JPEG: end-of-image
// marker after the last scan). Throws Error(Input) naming `name`.
ImageHeader inspect_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name);

// Reads, checks and decodes; RGB (3 channels), EXIF orientation ignored as PIL does.
cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name);
cv::Mat decode_image_file(const std::string& path);

// True for .jpg .jpeg .png in any letter case.
bool has_image_extension(const std::string& path);

}  // namespace bb
