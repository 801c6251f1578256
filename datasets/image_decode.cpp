#include "datasets/image_decode.hpp"

#include "datasets/pillow_decode.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace bb {
namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

ImageHeader inspect_png(const std::vector<uint8_t>& b, const std::string& name) {
  // 8-byte signature, then chunks: length(4) type(4) data(length) crc(4).
  size_t pos = 8;
  ImageHeader h{ImageFormat::Png, 0, 0};
  bool first = true;
  while (true) {
    if (pos + 12 > b.size()) throw Error::input_at(name, pos, "truncated PNG (no IEND chunk)");
    uint32_t len = be32(&b[pos]);
    const uint8_t* type = &b[pos + 4];
    if (len > b.size() - pos - 12)
      throw Error::input_at(name, pos, "truncated PNG (chunk of " + std::to_string(len) + " bytes runs past the end)");
    bool is_ihdr = std::equal(type, type + 4, "IHDR");
    if (first && !is_ihdr) throw Error::input_at(name, pos, "corrupt PNG (first chunk is not IHDR)");
    if (is_ihdr) {
      if (len < 8) throw Error::input_at(name, pos, "corrupt PNG (IHDR too short)");
      uint32_t w = be32(&b[pos + 8]), hh = be32(&b[pos + 12]);
      if (w == 0 || hh == 0 || w > 0x7fffffffu || hh > 0x7fffffffu)
        throw Error::input_at(name, pos, "corrupt PNG (width or height is zero or too large)");
      h.width = static_cast<int>(w);
      h.height = static_cast<int>(hh);
    }
    first = false;
    if (std::equal(type, type + 4, "IEND")) return h;
    pos += 12 + len;
  }
}

bool is_sof(uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

ImageHeader inspect_jpeg(const std::vector<uint8_t>& b, const std::string& name) {
  ImageHeader h{ImageFormat::Jpeg, 0, 0};
  size_t pos = 2;
  // Walk marker segments up to the first start-of-scan; the frame header (SOFn) gives the size.
  while (pos + 4 <= b.size()) {
    if (b[pos] != 0xFF) throw Error::input_at(name, pos, "corrupt JPEG (expected a marker)");
    uint8_t m = b[pos + 1];
    if (m == 0xFF) {
      ++pos;
      continue;
    }
    if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
      pos += 2;
      continue;
    }
    uint16_t len = be16(&b[pos + 2]);
    if (len < 2 || pos + 2 + len > b.size()) throw Error::input_at(name, pos, "truncated JPEG (segment runs past the end)");
    if (is_sof(m)) {
      if (len < 7) throw Error::input_at(name, pos, "corrupt JPEG (frame header too short)");
      h.height = be16(&b[pos + 5]);
      h.width = be16(&b[pos + 7]);
    }
    if (m == 0xDA) break;
    pos += 2 + len;
  }
  if (h.width == 0 || h.height == 0) throw Error::input(name, "corrupt JPEG (no frame header with a size)");
  // The image ends with EOI (FF D9) after the last scan; its absence means the file was cut.
  size_t last_sos = 0;
  for (size_t i = b.size() - 1; i > pos; --i)
    if (b[i - 1] == 0xFF && b[i] == 0xDA) {
      last_sos = i;
      break;
    }
  bool eoi = false;
  for (size_t i = b.size() - 1; i > std::max(last_sos, pos); --i)
    if (b[i - 1] == 0xFF && b[i] == 0xD9) {
      eoi = true;
      break;
    }
  if (!eoi) throw Error::input(name, "truncated JPEG (no end-of-image marker after the last scan)");
  return h;
}

}  // namespace

bool has_image_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

ImageHeader inspect_image_bytes(const std::vector<uint8_t>& b, const std::string& name) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  ImageHeader h;
  if (b.size() >= 8 && std::equal(kPng, kPng + 8, b.begin()))
    h = inspect_png(b, name);
  else if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
    h = inspect_jpeg(b, name);
  else
    throw Error::input(name, "not a JPEG or PNG image (unrecognised signature)");
  if (h.width > kMaxImageSide || h.height > kMaxImageSide ||
      static_cast<int64_t>(h.width) * h.height > kMaxImagePixels)
    throw Error::input(name, "image claims " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                                 " pixels, above the limit of " + std::to_string(kMaxImageSide) + " per side and " +
                                 std::to_string(kMaxImagePixels) + " in all");
  return h;
}

cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name) {
  ImageHeader h = inspect_image_bytes(bytes, name);
  cv::Mat rgb = h.format == ImageFormat::Jpeg ? decode_jpeg_as_pillow(bytes, name) : decode_png_as_pillow(bytes, name);
  if (rgb.cols != h.width || rgb.rows != h.height)
    throw Error::input(name, "decoded size differs from the header's (corrupt image)");
  return rgb;
}

cv::Mat decode_image_file(const std::string& path) {
  return decode_image_bytes(read_file_bytes(path, kMaxImageFileBytes), path);
}

}  // namespace bb
