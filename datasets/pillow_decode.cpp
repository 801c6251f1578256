#include "datasets/pillow_decode.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include <jpeglib.h>
#include <png.h>

#include "core/error.hpp"

namespace bb {
namespace {

// libjpeg and libpng report errors by longjmp. Each library call runs in a
// step function holding no C++ object, entered through guarded() whose frame
// the jump returns to; C++ allocation happens between steps.

// ---------------------------------------------------------------- JPEG

struct JpegJob {
  jpeg_error_mgr err;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  jpeg_decompress_struct cinfo;
  bool created;
  const uint8_t* data;
  size_t size;
  int width, height, components;
  uint8_t* rgb;                                  // height rows of width × 3 bytes: the result
  uint8_t* row;                                  // one scanline when components != 3
  void (*to_rgb)(const uint8_t*, uint8_t*, int);  // that scanline into an RGB row
};

void jpeg_error_exit(j_common_ptr c) {
  JpegJob* job = reinterpret_cast<JpegJob*>(c->client_data);
  (*c->err->format_message)(c, job->message);
  std::longjmp(job->jump, 1);
}
void jpeg_silent(j_common_ptr) {}  // warnings (e.g. extraneous bytes) do not fail a decode, as in Pillow

void jpeg_step_header(JpegJob* j) {
  jpeg_create_decompress(&j->cinfo);
  j->created = true;
  j->cinfo.client_data = j;
  jpeg_mem_src(&j->cinfo, j->data, static_cast<unsigned long>(j->size));
  jpeg_read_header(&j->cinfo, TRUE);
  // Pillow's choices are libjpeg's defaults: islow DCT, fancy upsampling, block smoothing.
  j->cinfo.dct_method = JDCT_ISLOW;
  j->cinfo.do_fancy_upsampling = TRUE;
  switch (j->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: j->cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK: j->cinfo.out_color_space = JCS_CMYK; break;
    case JCS_RGB:
    case JCS_YCbCr: j->cinfo.out_color_space = JCS_RGB; break;
    default: j->components = 0; return;
  }
  jpeg_start_decompress(&j->cinfo);
  j->width = static_cast<int>(j->cinfo.output_width);
  j->height = static_cast<int>(j->cinfo.output_height);
  j->components = j->cinfo.output_components;
}

void jpeg_step_pixels(JpegJob* j) {
  const size_t stride = static_cast<size_t>(j->width) * 3;
  while (j->cinfo.output_scanline < j->cinfo.output_height) {
    uint8_t* dst = j->rgb + stride * j->cinfo.output_scanline;
    JSAMPROW row = j->components == 3 ? dst : j->row;
    jpeg_read_scanlines(&j->cinfo, &row, 1);
    if (j->components != 3) j->to_rgb(j->row, dst, j->width);
  }
  jpeg_finish_decompress(&j->cinfo);
}

bool jpeg_guarded(JpegJob* j, void (*step)(JpegJob*)) {
  if (setjmp(j->jump)) return false;
  step(j);
  return true;
}

// Pillow's cmyk2rgb on "CMYK;I" (Adobe-inverted) samples: k' = 255 - k,
// channel = clip(k' - k'·c / 255) with its rounded MULDIV255.
inline uint8_t muldiv255(int a, int b) {
  const int t = a * b + 128;
  return static_cast<uint8_t>(((t >> 8) + t) >> 8);
}

void gray_to_rgb(const uint8_t* s, uint8_t* o, int n) {
  for (int i = 0; i < n; ++i) o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = s[i];
}

void inverted_cmyk_to_rgb(const uint8_t* s, uint8_t* o, int n) {
  for (int i = 0; i < n; ++i) {
    const int nk = s[4 * i + 3];  // 255 - (255 - k): the inverted sample is already k'
    for (int c = 0; c < 3; ++c) {
      const int v = nk - muldiv255(255 - s[4 * i + c], nk);
      o[3 * i + c] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
}

// ---------------------------------------------------------------- PNG

struct PngJob {
  std::jmp_buf jump;
  char message[256];
  png_structp png;
  png_infop info;
  const uint8_t* data;
  size_t size, pos;
  int width, height, color_type, bit_depth, channels;
  size_t rowbytes;
  uint8_t* pixels;    // height rows of rowbytes (after palette and low-bit-gray expansion)
  png_bytep* rows;    // each row's start in pixels (owned by the caller: an error jumps past this step)
};

void png_error_fn(png_structp p, png_const_charp msg) {
  PngJob* j = static_cast<PngJob*>(png_get_error_ptr(p));
  std::snprintf(j->message, sizeof j->message, "%s", msg);
  std::longjmp(j->jump, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}
void png_read_fn(png_structp p, png_bytep out, size_t n) {
  PngJob* j = static_cast<PngJob*>(png_get_io_ptr(p));
  if (n > j->size - j->pos) png_error(p, "unexpected end of data");
  std::memcpy(out, j->data + j->pos, n);
  j->pos += n;
}

void png_step_header(PngJob* j) {
  j->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, j, png_error_fn, png_warning_fn);
  if (!j->png) {
    std::snprintf(j->message, sizeof j->message, "out of memory");
    std::longjmp(j->jump, 1);
  }
  j->info = png_create_info_struct(j->png);
  if (!j->info) png_error(j->png, "out of memory");
  png_set_read_fn(j->png, j, png_read_fn);
  png_set_user_limits(j->png, 0x7fffffff, 0x7fffffff);  // sizes were checked before
  png_read_info(j->png, j->info);
  j->width = static_cast<int>(png_get_image_width(j->png, j->info));
  j->height = static_cast<int>(png_get_image_height(j->png, j->info));
  j->color_type = png_get_color_type(j->png, j->info);
  j->bit_depth = png_get_bit_depth(j->png, j->info);
  if (j->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(j->png);
  if (j->color_type == PNG_COLOR_TYPE_GRAY && j->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(j->png);
  png_set_interlace_handling(j->png);
  png_read_update_info(j->png, j->info);
  j->channels = png_get_channels(j->png, j->info);
  j->rowbytes = png_get_rowbytes(j->png, j->info);
}

void png_step_pixels(PngJob* j) {
  // Interlaced images need every pass over all rows: read the whole image.
  png_read_image(j->png, j->rows);
  png_read_end(j->png, nullptr);
}

bool png_guarded(PngJob* j, void (*step)(PngJob*)) {
  if (setjmp(j->jump)) return false;
  step(j);
  return true;
}

}  // namespace

cv::Mat decode_jpeg_as_pillow(const std::vector<uint8_t>& bytes, const std::string& name) {
  JpegJob j{};
  j.cinfo.err = jpeg_std_error(&j.err);
  j.err.error_exit = jpeg_error_exit;
  j.err.output_message = jpeg_silent;
  j.cinfo.client_data = &j;
  j.data = bytes.data();
  j.size = bytes.size();
  auto fail = [&](const std::string& what) {
    if (j.created) jpeg_destroy_decompress(&j.cinfo);
    return Error::input(name, what);
  };
  if (!jpeg_guarded(&j, jpeg_step_header)) throw fail(std::string("cannot decode JPEG: ") + j.message);
  if (j.components == 0) throw fail("unsupported JPEG colour space (neither gray, RGB/YCbCr nor CMYK/YCCK)");
  // Scanlines go straight into the result; gray and CMYK through one row.
  cv::Mat rgb(j.height, j.width, CV_8UC3);
  std::vector<uint8_t> row(j.components == 3 ? 0 : static_cast<size_t>(j.width) * j.components);
  j.rgb = rgb.data;
  j.row = row.data();
  j.to_rgb = j.components == 1 ? gray_to_rgb : inverted_cmyk_to_rgb;
  if (!jpeg_guarded(&j, jpeg_step_pixels)) throw fail(std::string("cannot decode JPEG: ") + j.message);
  jpeg_destroy_decompress(&j.cinfo);
  return rgb;
}

cv::Mat decode_png_as_pillow(const std::vector<uint8_t>& bytes, const std::string& name) {
  PngJob j{};
  j.data = bytes.data();
  j.size = bytes.size();
  auto fail = [&](const std::string& what) {
    if (j.png) png_destroy_read_struct(&j.png, j.info ? &j.info : nullptr, nullptr);
    return Error::input(name, what);
  };
  if (!png_guarded(&j, png_step_header)) throw fail(std::string("cannot decode PNG: ") + j.message);
  std::unique_ptr<uint8_t[]> raw(new uint8_t[j.rowbytes * static_cast<size_t>(j.height)]);  // every byte is written
  j.pixels = raw.get();
  std::vector<png_bytep> rows(static_cast<size_t>(j.height));
  for (int y = 0; y < j.height; ++y) rows[static_cast<size_t>(y)] = j.pixels + j.rowbytes * static_cast<size_t>(y);
  j.rows = rows.data();
  if (!png_guarded(&j, png_step_pixels)) throw fail(std::string("cannot decode PNG: ") + j.message);
  png_destroy_read_struct(&j.png, &j.info, nullptr);

  cv::Mat rgb(j.height, j.width, CV_8UC3);
  const bool wide = j.bit_depth == 16;
  const int bps = wide ? 2 : 1, C = j.channels;
  const bool gray = j.color_type == PNG_COLOR_TYPE_GRAY || j.color_type == PNG_COLOR_TYPE_GRAY_ALPHA;
  for (int y = 0; y < j.height; ++y) {
    const uint8_t* s = raw.get() + j.rowbytes * static_cast<size_t>(y);
    uint8_t* o = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < j.width; ++x, o += 3) {
      const uint8_t* px = s + static_cast<size_t>(x) * C * bps;
      if (gray) {
        uint8_t v = px[0];  // 8-bit, or the high byte of 16-bit gray+alpha ("LA;16B")
        if (wide && j.color_type == PNG_COLOR_TYPE_GRAY) {
          const int w = (px[0] << 8) | px[1];  // mode "I", then i2rgb clips
          v = static_cast<uint8_t>(w > 255 ? 255 : w);
        }
        o[0] = o[1] = o[2] = v;
      } else {
        for (int c = 0; c < 3; ++c) o[c] = px[c * bps];  // 16-bit: the high byte ("RGB;16B")
      }
    }
  }
  return rgb;
}

}  // namespace bb
