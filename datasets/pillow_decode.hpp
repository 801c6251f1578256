#pragma once
// JPEG and PNG decoded to RGB uint8 as Pillow's Image.open(f).convert("RGB")
// gives them (what timm's ImageFolder loader does), byte for byte:
//   JPEG: libjpeg-turbo, Pillow's settings (islow DCT, fancy upsampling,
//         block smoothing: libjpeg's defaults); gray replicated to RGB; CMYK and
//         YCCK read as Adobe-inverted CMYK ("CMYK;I") then Pillow's cmyk2rgb.
//   PNG:  libpng without gamma or background; palette looked up (tRNS
//         ignored), gray 1/2/4-bit scaled to 8, alpha dropped (no compositing),
//         16-bit colour and gray+alpha keep the high byte, 16-bit gray is read
//         as Pillow's mode "I" and clipped to 0..255.
// EXIF orientation is ignored, as Pillow's open() ignores it. Errors name
// `name` and come as Error(Input).
// budget_bytes: what the decode may hold at once (the RGB result, libjpeg's
// coefficient buffers, libpng's rows); a file that needs more is refused
// before any of it is allocated, and libjpeg's own allocations are capped there.
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/image_limits.hpp"

namespace bb {

cv::Mat decode_jpeg_as_pillow(const std::vector<uint8_t>& bytes, const std::string& name,
                              uint64_t budget_bytes = kImageBudgetBytes);
cv::Mat decode_png_as_pillow(const std::vector<uint8_t>& bytes, const std::string& name,
                             uint64_t budget_bytes = kImageBudgetBytes);

}  // namespace bb
