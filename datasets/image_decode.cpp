#include "datasets/image_decode.hpp"

#include "datasets/pillow_decode.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <zlib.h>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace bb {
namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

bool chunk_is(const uint8_t* type, const char* name) { return std::equal(type, type + 4, name); }

// "tEXt", or its bytes in hex when they are not letters.
std::string chunk_name(const uint8_t* type) {
  if (std::all_of(type, type + 4, [](uint8_t c) { return std::isalpha(c); })) return std::string(type, type + 4);
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%02x%02x%02x%02x", type[0], type[1], type[2], type[3]);
  return hex;
}

uint32_t chunk_crc(const uint8_t* type, uint32_t len) {
  const uLong crc = ::crc32(::crc32(0L, type, 4), type + 4, len);
  return static_cast<uint32_t>(crc);
}

// IHDR's size. libpng decodes the first IHDR and refuses a second one, so the
// first is the one checked and a second is refused here, before decoding.
void read_ihdr(const std::vector<uint8_t>& b, size_t pos, uint32_t len, const std::string& name, ImageHeader& h) {
  if (h.width != 0) throw Error::input_at(name, pos, "corrupt PNG (a second IHDR chunk: libpng refuses it)");
  if (len != 13) throw Error::input_at(name, pos, "corrupt PNG (IHDR of " + std::to_string(len) + " bytes, not 13)");
  uint32_t w = be32(&b[pos + 8]), hh = be32(&b[pos + 12]);
  if (w == 0 || hh == 0 || w > 0x7fffffffu || hh > 0x7fffffffu)
    throw Error::input_at(name, pos, "corrupt PNG (width or height is zero or too large)");
  h.width = static_cast<int>(w);
  h.height = static_cast<int>(hh);
}

ImageHeader inspect_png(const std::vector<uint8_t>& b, const std::string& name) {
  // 8-byte signature, then chunks: length(4) type(4) data(length) crc(4).
  size_t pos = 8;
  ImageHeader h{ImageFormat::Png, 0, 0};
  bool before_idat = true;
  while (true) {
    if (pos + 12 > b.size()) throw Error::input_at(name, pos, "truncated PNG (no IEND chunk)");
    uint32_t len = be32(&b[pos]);
    const uint8_t* type = &b[pos + 4];
    if (len > b.size() - pos - 12)
      throw Error::input_at(name, pos, "truncated PNG (chunk of " + std::to_string(len) + " bytes runs past the end)");
    if (pos == 8 && !chunk_is(type, "IHDR")) throw Error::input_at(name, pos, "corrupt PNG (first chunk is not IHDR)");
    if (chunk_is(type, "IHDR")) read_ihdr(b, pos, len, name, h);
    if (chunk_is(type, "IDAT")) before_idat = false;
    // Pillow checks the CRC of every chunk it reads before the first IDAT (and
    // refuses the file on a mismatch), of none after it; libpng is told the same.
    if (before_idat && chunk_crc(type, len) != be32(&b[pos + 8 + len]))
      throw Error::input_at(name, pos, "corrupt PNG (CRC error in its " + chunk_name(type) + " chunk, which Pillow refuses)");
    if (chunk_is(type, "IEND")) return h;
    pos += 12 + len;
  }
}

bool is_sof(uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// Where the entropy-coded data from `pos` ends: the next marker, i.e. FF
// followed by anything but 00 (a stuffed FF), D0..D7 (a restart) or another
// FF (fill); b.size() when the file ends first.
size_t entropy_data_end(const std::vector<uint8_t>& b, size_t pos) {
  while (pos < b.size()) {
    const void* ff = std::memchr(&b[pos], 0xFF, b.size() - pos);
    if (!ff) return b.size();
    const size_t i = static_cast<size_t>(static_cast<const uint8_t*>(ff) - b.data());
    if (i + 1 >= b.size()) return b.size();
    const uint8_t next = b[i + 1];
    if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) pos = i + 2;
    else if (next == 0xFF) pos = i + 1;
    else return i;
  }
  return b.size();
}

// The frame header's size. libjpeg refuses a second frame header, so one is refused here.
void read_frame(const std::vector<uint8_t>& b, size_t pos, uint16_t len, const std::string& name, bool& seen, ImageHeader& h) {
  if (seen) throw Error::input_at(name, pos, "corrupt JPEG (a second frame header)");
  if (len < 7) throw Error::input_at(name, pos, "corrupt JPEG (frame header too short)");
  seen = true;
  h.height = be16(&b[pos + 5]);
  h.width = be16(&b[pos + 7]);
}

ImageHeader inspect_jpeg(const std::vector<uint8_t>& b, const std::string& name) {
  ImageHeader h{ImageFormat::Jpeg, 0, 0};
  bool frame = false, eoi = false;
  int scans = 0;
  size_t pos = 2;
  // Marker segments, and after each start of scan its entropy-coded data, up
  // to the end-of-image marker. What follows EOI is not read: libjpeg stops
  // there and Pillow with it, whatever those bytes hold.
  while (pos + 2 <= b.size()) {
    if (b[pos] != 0xFF) {  // bytes between segments: libjpeg skips them (a warning), Pillow too
      const void* ff = std::memchr(&b[pos], 0xFF, b.size() - pos);
      if (!ff) break;
      pos = static_cast<size_t>(static_cast<const uint8_t*>(ff) - b.data());
      continue;
    }
    const uint8_t m = b[pos + 1];
    if (m == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (m == 0xD9) {
      eoi = true;
      break;
    }
    if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
      pos += 2;
      continue;
    }
    if (pos + 4 > b.size()) break;
    const uint16_t len = be16(&b[pos + 2]);
    if (len < 2 || pos + 2 + len > b.size()) throw Error::input_at(name, pos, "truncated JPEG (segment runs past the end)");
    if (is_sof(m)) read_frame(b, pos, len, name, frame, h);
    if (m == 0xDA && (h.width == 0 || h.height == 0)) break;  // a scan needs the frame's size first
    pos += 2 + len;
    if (m == 0xDA) {
      ++scans;
      pos = entropy_data_end(b, pos);
    }
  }
  if (h.width == 0 || h.height == 0) throw Error::input(name, "corrupt JPEG (no frame header with a size)");
  if (!eoi) throw Error::input(name, "truncated JPEG (no end-of-image marker after the last scan)");
  if (scans == 0) throw Error::input(name, "corrupt JPEG (no scan before the end-of-image marker)");
  if (scans > kMaxJpegScans)
    throw Error::input(name, "JPEG of " + std::to_string(scans) + " scans, above the limit of " +
                                 std::to_string(kMaxJpegScans) + " (each scan is one more pass over the whole image)");
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
                                 std::to_string(kMaxImagePixels) + " in all (Pillow's own)");
  return h;
}

cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name, uint64_t budget_bytes) {
  ImageHeader h = inspect_image_bytes(bytes, name);
  // The file's bytes are held while it decodes: they come out of the budget too.
  const uint64_t left = budget_bytes > bytes.size() ? budget_bytes - bytes.size() : 0;
  cv::Mat rgb = h.format == ImageFormat::Jpeg ? decode_jpeg_as_pillow(bytes, name, left)
                                              : decode_png_as_pillow(bytes, name, left);
  if (rgb.cols != h.width || rgb.rows != h.height)
    throw Error::input(name, "decoded size differs from the header's (corrupt image)");
  return rgb;
}

cv::Mat decode_image_file(const std::string& path) {
  return decode_image_bytes(read_file_bytes(path, kMaxImageFileBytes), path);
}

}  // namespace bb
