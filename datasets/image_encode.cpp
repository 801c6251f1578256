#include "datasets/image_encode.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <jpeglib.h>
#include <png.h>

#include "core/error.hpp"

namespace bb {
namespace {

void check_input(const cv::Mat& img, const char* what) {
  if (img.depth() != CV_8U || (img.channels() != 1 && img.channels() != 3) || img.empty())
    throw Error::runtime("", std::string("cannot encode as ") + what + ": need an 8-bit grey or RGB image");
}

struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};
[[noreturn]] void on_jpeg_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

}  // namespace

std::vector<uint8_t> encode_png(const cv::Mat& img) {
  check_input(img, "PNG");
  const cv::Mat m = img.isContinuous() ? img : img.clone();
  png_image p{};
  p.version = PNG_IMAGE_VERSION;
  p.width = static_cast<png_uint_32>(m.cols);
  p.height = static_cast<png_uint_32>(m.rows);
  p.format = m.channels() == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const auto stride = static_cast<png_int_32>(m.step[0]);
  png_alloc_size_t size = 0;
  // First call sizes the output, the second writes it.
  if (!png_image_write_to_memory(&p, nullptr, &size, 0, m.data, stride, nullptr))
    throw Error::runtime("", std::string("cannot encode as PNG: ") + p.message);
  std::vector<uint8_t> out(size);
  if (!png_image_write_to_memory(&p, out.data(), &size, 0, m.data, stride, nullptr))
    throw Error::runtime("", std::string("cannot encode as PNG: ") + p.message);
  out.resize(size);
  return out;
}

std::vector<uint8_t> encode_jpeg(const cv::Mat& img, int quality) {
  check_input(img, "JPEG");
  jpeg_compress_struct c{};
  JpegError err{};
  c.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_jpeg_error;
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&c);
    std::free(buf);
    throw Error::runtime("", std::string("cannot encode as JPEG: ") + err.message);
  }
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(img.cols);
  c.image_height = static_cast<JDIMENSION>(img.rows);
  c.input_components = img.channels();
  c.in_color_space = img.channels() == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(img.ptr<uint8_t>(static_cast<int>(c.next_scanline)));
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::vector<uint8_t> out(buf, buf + size);
  std::free(buf);
  return out;
}

}  // namespace bb
