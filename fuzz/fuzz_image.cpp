// JPEG and PNG bytes through the header checks and the Pillow-exact decoders
// (libjpeg-turbo and libpng report errors by longjmp; the decoders must turn
// every one into an Error naming the input, leak nothing and read in bounds).
//
// Decoding time grows with the pixels a header claims, not with the input's
// bytes: a 350-byte JPEG can claim 16 k × 16 k pixels (under the product's
// kMaxImagePixels), which libjpeg fills in seconds in a release build but in
// more than libFuzzer's 20 s under ASan (seed regression_jpeg_pixel_bomb).
// So, as image libraries' own fuzz harnesses do, headers claiming more than
// kFuzzMaxPixels go through the header checks only; the decoders' arithmetic
// does not depend on the size, and the size limit itself is unit-tested.
#include <cstdint>
#include <vector>

#include "datasets/image_decode.hpp"
#include "fuzz/fuzz_util.hpp"

namespace {
constexpr int64_t kFuzzMaxPixels = int64_t{1} << 22;  // 4 M pixels
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  return bb::fuzz::run_one([&] {
    const bb::ImageHeader h = bb::inspect_image_bytes(bytes, "fuzz.img");
    if (static_cast<int64_t>(h.width) * h.height > kFuzzMaxPixels) return;
    const cv::Mat m = bb::decode_image_bytes(bytes, "fuzz.img");
    (void)m.total();
  });
}
