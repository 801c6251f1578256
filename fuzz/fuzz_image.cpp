// JPEG and PNG bytes through the header checks, the Pillow-exact libjpeg-turbo
// / libpng decoders (errors by longjmp; the decoders must turn every one into
// an Error naming the input, leak nothing and read in bounds) and timm's eval
// resize and center crop.
//
// Every input is decoded, whatever size its header claims: the decoder's own
// byte budget is what bounds it (datasets/image_limits.hpp), as it bounds
// bitbench. The budget is lowered here to kFuzzBudgetBytes, through the same
// parameter, so that what a header may make the decoder fill stays within
// libFuzzer's time and RSS limits under ASan (a 350-byte JPEG claiming
// 16 k x 16 k pixels took more than 20 s: seed regression_jpeg_pixel_bomb);
// headers claiming more go through the budget checks and are refused there,
// after libjpeg / libpng have read them.
#include <cstdint>
#include <vector>

#include "datasets/image_decode.hpp"
#include "datasets/transforms.hpp"
#include "fuzz/fuzz_util.hpp"

namespace {
// 16 MiB: about 5 M pixels of RGB from a one-scan JPEG, fewer when libjpeg's
// coefficient buffers or libpng's interlaced image count too.
constexpr uint64_t kFuzzBudgetBytes = 16ull << 20;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  return bb::fuzz::run_one([&] {
    const cv::Mat rgb = bb::decode_image_bytes(bytes, "fuzz.img", kFuzzBudgetBytes);
    // timm's eval geometry on whatever shape came out (1 x N, N x 1, ...).
    const cv::Mat crop = bb::resize_center_crop(rgb, 32, 0.875, "bicubic");
    (void)crop.total();
  });
}
