#pragma once
// What one image may cost bitbench, in one place. A file's bytes say little
// about its decode: a 151-byte JPEG can claim 16384 x 16384 pixels. So every
// image is checked against these before the memory or time it claims is spent
// (docs/ARCHITECTURE.md, "Hardening").
#include <cstdint>
#include <string>

namespace bb {

// Pillow's refusal point: Image.open raises DecompressionBombError above
// 2 x Image.MAX_IMAGE_PIXELS = 178 956 970 pixels. timm reads images with
// Pillow, so an image over it is one no timm evaluation ever saw.
inline constexpr int64_t kMaxImagePixels = 178'956'970;
inline constexpr int kMaxImageSide = 32768;
inline constexpr uint64_t kMaxImageFileBytes = 256ull << 20;

// The bytes one image may hold at once, from its file's bytes through the
// decoder's working memory (libjpeg's coefficient buffers for progressive and
// multi-scan JPEGs, libpng's whole image when interlaced) and the decoded RGB,
// to a resize's tables and intermediate rows. 1 GiB is Pillow's largest image
// (178 956 970 pixels = 2^30 / 6) at 6 bytes a pixel: its RGB (3) plus the
// coefficients of a progressive 4:2:0 JPEG (3: 1.5 blocks of 64 two-byte
// coefficients per 64 pixels). A budget in bytes, not pixels: the same pixel
// count costs 3 bytes a pixel as a baseline JPEG and 11 as a progressive CMYK one.
inline constexpr uint64_t kImageBudgetBytes = 1ull << 30;

// Scans a JPEG may have. Each scan is one more pass over the coefficients of
// its components, so decode time grows with scans x blocks, not with the file:
// a 110 KB file of 10 001 scans over a 12000 x 12000 image runs for minutes.
// libjpeg's standard progressive script writes 10 scans (6 for gray) and
// scan-optimising encoders (mozjpeg) a few dozen; 1000 is 100 times the
// standard script and still bounds the work (NVIDIA's nvImageCodec refuses
// more than 256 for the same reason; djpeg has -maxscans for it).
inline constexpr int kMaxJpegScans = 1000;

// "1236 MiB", or "9 KiB" under a mebibyte (rounded up), for messages about the budget.
inline std::string byte_size_text(uint64_t bytes) {
  const bool small = bytes < (1u << 20);
  const unsigned shift = small ? 10 : 20;
  return std::to_string((bytes >> shift) + ((bytes & ((uint64_t{1} << shift) - 1)) != 0)) + (small ? " KiB" : " MiB");
}

}  // namespace bb
