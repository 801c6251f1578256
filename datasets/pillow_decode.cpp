#include "datasets/pillow_decode.hpp"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "core/error.hpp"
#include "datasets/image_limits.hpp"

namespace bb {
namespace {

// libjpeg and libpng report errors by longjmp. Each library call runs in a
// step function holding no C++ object, entered through guarded() whose frame
// the jump returns to; C++ allocation happens between steps.

// ---------------------------------------------------------------- JPEG

struct JpegJob {
  jpeg_error_mgr err;
  jpeg_progress_mgr progress;                    // counts scans as libjpeg reads them
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  jpeg_decompress_struct cinfo;
  bool created;
  const uint8_t* data;
  size_t size;
  long libjpeg_budget;                           // what libjpeg may allocate (mem->max_memory_to_use)
  int width, height, components;
  uint64_t coefficient_bytes;                    // libjpeg's whole-image coefficient buffers, 0 for one scan
  uint64_t libjpeg_rows;                         // libjpeg's other buffers, at most
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

// A progressive JPEG, or one whose first scan leaves components out, is read
// whole into coefficient buffers before any pixel comes out: 64 two-byte
// coefficients per 8 x 8 block of every component (jdcoefct.c's arrays, each
// rounded up to whole MCUs). One interleaved scan is decoded MCU row by MCU row.
uint64_t jpeg_coefficient_bytes(j_decompress_ptr c) {
  if (!jpeg_has_multiple_scans(c)) return 0;
  uint64_t bytes = 0;
  for (int i = 0; i < c->num_components; ++i) {
    const jpeg_component_info& k = c->comp_info[i];
    auto round_up = [](uint64_t n, int m) { return (n + static_cast<uint64_t>(m) - 1) / m * m; };
    bytes += round_up(k.width_in_blocks, k.h_samp_factor) * round_up(k.height_in_blocks, k.v_samp_factor) * sizeof(JBLOCK);
  }
  return bytes;
}

// An upper bound on libjpeg's other buffers, which it allocates before the
// coefficient buffers and counts against the same max_memory_to_use: its
// tables (well under 1 MiB), and per component rows for the IDCT output,
// context rows and upsampling: 4 row groups of max_v_samp_factor x 8 rows of
// the width padded to whole MCUs (+64), more than libjpeg keeps.
uint64_t jpeg_row_buffer_bytes(j_decompress_ptr c) {
  const uint64_t width = static_cast<uint64_t>(c->output_width) + 64;
  return (1u << 20) + width * static_cast<uint64_t>(c->num_components) * static_cast<uint64_t>(c->max_v_samp_factor) *
                          DCTSIZE * 4;
}

// libjpeg's progress hook runs between its input steps: a file with more scans
// than kMaxJpegScans is refused here too (inspect_image_bytes counts them first).
void jpeg_scan_limit(j_common_ptr c) {
  const int scans = reinterpret_cast<j_decompress_ptr>(c)->input_scan_number;
  if (scans <= kMaxJpegScans) return;
  JpegJob* job = reinterpret_cast<JpegJob*>(c->client_data);
  std::snprintf(job->message, sizeof job->message, "more than %d scans (the limit)", kMaxJpegScans);
  std::longjmp(job->jump, 1);
}

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
  jpeg_calc_output_dimensions(&j->cinfo);
  j->width = static_cast<int>(j->cinfo.output_width);
  j->height = static_cast<int>(j->cinfo.output_height);
  j->components = j->cinfo.output_components;
  j->coefficient_bytes = jpeg_coefficient_bytes(&j->cinfo);
  j->libjpeg_rows = jpeg_row_buffer_bytes(&j->cinfo);
}

// Allocates libjpeg's buffers (a multi-scan file is read whole here), within libjpeg_budget.
void jpeg_step_start(JpegJob* j) {
  j->cinfo.mem->max_memory_to_use = j->libjpeg_budget;
  j->progress.progress_monitor = jpeg_scan_limit;
  j->cinfo.progress = &j->progress;
  jpeg_start_decompress(&j->cinfo);
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
  bool interlaced;
  size_t rowbytes;
  uint8_t* rgb;       // height rows of width × 3 bytes: the result
  uint8_t* pixels;    // as libpng delivers them: one row, or the whole image when interlaced
  png_bytep* rows;    // interlaced: each row's start in pixels (owned by the caller: an error jumps past this step)
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

// Chunks whose contents libpng would allocate or inflate but the pixels do not
// depend on (no gamma, colour profile or background is applied, as in Pillow's
// convert): skipped unread, so a zTXt bomb costs nothing.
constexpr png_byte kIgnoredChunks[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf";

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
  // CRCs were checked where Pillow checks them (every chunk before the first
  // IDAT, inspect_image_bytes); past that Pillow reads on, and so does libpng.
  png_set_crc_action(j->png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
  png_set_keep_unknown_chunks(j->png, PNG_HANDLE_CHUNK_NEVER, kIgnoredChunks, sizeof kIgnoredChunks / 5);
  png_read_info(j->png, j->info);
  j->width = static_cast<int>(png_get_image_width(j->png, j->info));
  j->height = static_cast<int>(png_get_image_height(j->png, j->info));
  j->color_type = png_get_color_type(j->png, j->info);
  j->bit_depth = png_get_bit_depth(j->png, j->info);
  j->interlaced = png_get_interlace_type(j->png, j->info) != PNG_INTERLACE_NONE;
  if (j->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(j->png);
  if (j->color_type == PNG_COLOR_TYPE_GRAY && j->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(j->png);
  png_set_interlace_handling(j->png);
  png_read_update_info(j->png, j->info);
  j->channels = png_get_channels(j->png, j->info);
  j->rowbytes = png_get_rowbytes(j->png, j->info);
}

// One row as libpng delivers it (palette and low-bit gray expanded) to RGB as
// Pillow's convert("RGB") gives it: alpha dropped, 16-bit colour and gray+alpha
// keep the high byte, 16-bit gray is Pillow's mode "I" clipped to 0..255.
void png_row_to_rgb(const PngJob* j, const uint8_t* s, uint8_t* o) {
  const bool wide = j->bit_depth == 16;
  const int bps = wide ? 2 : 1, C = j->channels;
  const bool gray = j->color_type == PNG_COLOR_TYPE_GRAY || j->color_type == PNG_COLOR_TYPE_GRAY_ALPHA;
  for (int x = 0; x < j->width; ++x, o += 3) {
    const uint8_t* px = s + static_cast<size_t>(x) * C * bps;
    if (gray) {
      uint8_t v = px[0];  // 8-bit, or the high byte of 16-bit gray+alpha ("LA;16B")
      if (wide && j->color_type == PNG_COLOR_TYPE_GRAY) {
        const int w = (px[0] << 8) | px[1];  // mode "I", then i2rgb clips
        v = static_cast<uint8_t>(w > 255 ? 255 : w);
      }
      o[0] = o[1] = o[2] = v;
    } else {
      for (int c = 0; c < 3; ++c) o[c] = px[c * bps];  // 16-bit: the high byte ("RGB;16B")
    }
  }
}

void png_step_pixels(PngJob* j) {
  const size_t stride = static_cast<size_t>(j->width) * 3;
  if (j->interlaced) {
    // Every pass writes into all rows: libpng needs the whole image.
    png_read_image(j->png, j->rows);
    for (int y = 0; y < j->height; ++y) png_row_to_rgb(j, j->rows[y], j->rgb + stride * static_cast<size_t>(y));
  } else {
    for (int y = 0; y < j->height; ++y) {
      png_read_row(j->png, j->pixels, nullptr);
      png_row_to_rgb(j, j->pixels, j->rgb + stride * static_cast<size_t>(y));
    }
  }
  png_read_end(j->png, nullptr);
}

bool png_guarded(PngJob* j, void (*step)(PngJob*)) {
  if (setjmp(j->jump)) return false;
  step(j);
  return true;
}

// "JPEG of 12000x12000 needs 1237 MiB to decode (...), more than the 1024 MiB the image budget leaves for it".
std::string over_budget(const std::string& what, uint64_t needed, const std::string& parts, uint64_t budget) {
  return what + " needs " + byte_size_text(needed) + " to decode (" + parts + "), more than the " + byte_size_text(budget) +
         " the image budget leaves for it";
}

}  // namespace

cv::Mat decode_jpeg_as_pillow(const std::vector<uint8_t>& bytes, const std::string& name, uint64_t budget_bytes) {
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
  auto libjpeg_failed = [&] {
    if (j.err.msg_code == JERR_NO_BACKING_STORE)  // what libjpeg says when max_memory_to_use is short
      return fail("cannot decode JPEG: libjpeg needs more than the " + byte_size_text(static_cast<uint64_t>(j.libjpeg_budget)) +
                  " of the image budget left for it");
    return fail(std::string("cannot decode JPEG: ") + j.message);
  };
  if (!jpeg_guarded(&j, jpeg_step_header)) throw libjpeg_failed();
  if (j.components == 0) throw fail("unsupported JPEG colour space (neither gray, RGB/YCbCr nor CMYK/YCCK)");
  // Everything this decode holds at once, checked before any of it is allocated.
  const uint64_t rgb_bytes = static_cast<uint64_t>(j.width) * j.height * 3;
  const uint64_t row_bytes = j.components == 3 ? 0 : static_cast<uint64_t>(j.width) * j.components;
  const uint64_t needed = rgb_bytes + row_bytes + j.libjpeg_rows + j.coefficient_bytes;
  if (needed > budget_bytes)
    throw fail(over_budget(std::string(j.coefficient_bytes ? "multi-scan " : "") + "JPEG of " + std::to_string(j.width) +
                               "x" + std::to_string(j.height),
                           needed,
                           byte_size_text(rgb_bytes) + " of RGB, " +
                               (j.coefficient_bytes ? byte_size_text(j.coefficient_bytes) + " of libjpeg coefficient buffers, " : "") +
                               byte_size_text(row_bytes + j.libjpeg_rows) + " of rows",
                           budget_bytes));
  // What is left is libjpeg's (0 would mean no limit to libjpeg, hence at least 1).
  const uint64_t left = std::min<uint64_t>(budget_bytes - rgb_bytes - row_bytes, std::numeric_limits<long>::max());
  j.libjpeg_budget = std::max<long>(1, static_cast<long>(left));
  if (!jpeg_guarded(&j, jpeg_step_start)) throw libjpeg_failed();
  // Scanlines go straight into the result; gray and CMYK through one row.
  cv::Mat rgb(j.height, j.width, CV_8UC3);
  std::vector<uint8_t> row(static_cast<size_t>(row_bytes));
  j.rgb = rgb.data;
  j.row = row.data();
  j.to_rgb = j.components == 1 ? gray_to_rgb : inverted_cmyk_to_rgb;
  if (!jpeg_guarded(&j, jpeg_step_pixels)) throw libjpeg_failed();
  jpeg_destroy_decompress(&j.cinfo);
  return rgb;
}

cv::Mat decode_png_as_pillow(const std::vector<uint8_t>& bytes, const std::string& name, uint64_t budget_bytes) {
  PngJob j{};
  j.data = bytes.data();
  j.size = bytes.size();
  auto fail = [&](const std::string& what) {
    if (j.png) png_destroy_read_struct(&j.png, j.info ? &j.info : nullptr, nullptr);
    return Error::input(name, what);
  };
  if (!png_guarded(&j, png_step_header)) throw fail(std::string("cannot decode PNG: ") + j.message);
  // Rows go through one row buffer into the result; an interlaced image is held whole first.
  const uint64_t rgb_bytes = static_cast<uint64_t>(j.width) * j.height * 3;
  const uint64_t libpng_bytes = j.interlaced ? (j.rowbytes + sizeof(png_bytep)) * static_cast<uint64_t>(j.height) : j.rowbytes;
  if (rgb_bytes + libpng_bytes > budget_bytes)
    throw fail(over_budget(std::string(j.interlaced ? "interlaced " : "") + "PNG of " + std::to_string(j.width) + "x" +
                               std::to_string(j.height),
                           rgb_bytes + libpng_bytes,
                           byte_size_text(rgb_bytes) + " of RGB, " + byte_size_text(libpng_bytes) +
                               (j.interlaced ? " of the whole image as libpng de-interlaces it" : " of row"),
                           budget_bytes));
  cv::Mat rgb(j.height, j.width, CV_8UC3);
  std::unique_ptr<uint8_t[]> pixels(new uint8_t[static_cast<size_t>(libpng_bytes)]);  // every byte is written
  std::vector<png_bytep> rows(j.interlaced ? static_cast<size_t>(j.height) : 0);
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = pixels.get() + j.rowbytes * y;
  j.rgb = rgb.data;
  j.pixels = pixels.get();
  j.rows = rows.data();
  if (!png_guarded(&j, png_step_pixels)) throw fail(std::string("cannot decode PNG: ") + j.message);
  png_destroy_read_struct(&j.png, &j.info, nullptr);
  return rgb;
}

}  // namespace bb
