// IDX files, plain or gzip (chosen by the input's first two bytes, as a user's
// file name would): header, sizes against the file size, decompression bounds.
#include "datasets/idx.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const std::string path = bb::fuzz::put(gz ? "t10k-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte", data, size);
  return bb::fuzz::run_one([&] {
    (void)bb::read_idx(path, 3);
    (void)bb::read_idx(path, 1);
  });
}
