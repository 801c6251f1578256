#pragma once
// Image files (JPEG, PNG) checked, then decoded to RGB uint8 as Pillow's
// Image.open(f).convert('RGB') does (datasets/pillow_decode.hpp).
// The header is read first and the image refused when its dimensions are
// absurd (datasets/image_limits.hpp), before any pixel memory is allocated;
// truncated files are refused instead of being decoded into half-grey
// pictures; the decode itself stays within a byte budget.
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/image_limits.hpp"

namespace bb {

enum class ImageFormat { Unknown, Jpeg, Png };

struct ImageHeader {
  ImageFormat format = ImageFormat::Unknown;
  int width = 0, height = 0;
};

// Walks the file's structure without decoding it: format and size (from the
// first IHDR / frame header, the one libpng / libjpeg decode), and that the
// file is whole and sane as Pillow reads it:
//   PNG: chunks inside the file up to IEND, one IHDR, the CRC of every chunk
//        before the first IDAT (Pillow checks those and no others);
//   JPEG: segments and scans up to the end-of-image marker (bytes after it
//        are ignored, as Pillow and libjpeg ignore them), one frame header, at
//        most kMaxJpegScans scans.
// Then the size limits. Throws Error(Input) naming `name`.
ImageHeader inspect_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name);

// Reads, checks and decodes; RGB (3 channels), EXIF orientation ignored as PIL
// does. budget_bytes covers the file's bytes and the whole decode
// (kImageBudgetBytes; the fuzz target passes less).
cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                           uint64_t budget_bytes = kImageBudgetBytes);
cv::Mat decode_image_file(const std::string& path);

// True for .jpg .jpeg .png in any letter case.
bool has_image_extension(const std::string& path);

}  // namespace bb
