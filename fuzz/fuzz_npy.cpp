// .npy arrays (the run pipeline's cached teacher logits): magic, version,
// header length, the shape in the header against the data that follows.
#include "core/npy.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bb::fuzz::put("teacher_logits.npy", data, size);
  return bb::fuzz::run_one([&] { (void)bb::read_npy(path); });
}
