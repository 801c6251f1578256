// JPEG and PNG bytes through the header checks and the Pillow-exact decoders
// (libjpeg-turbo and libpng report errors by longjmp; the decoders must turn
// every one into an Error naming the input, leak nothing and read in bounds).
#include <vector>

#include "datasets/image_decode.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  return bb::fuzz::run_one([&] {
    const cv::Mat m = bb::decode_image_bytes(bytes, "fuzz.img");
    (void)m.total();
  });
}
