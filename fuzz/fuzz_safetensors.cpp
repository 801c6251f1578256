// The safetensors header and tensor table, from raw bytes: parse, then read
// every float tensor as fp32 (offsets and byte counts must have been checked).
#include <vector>

#include "fuzz/fuzz_util.hpp"
#include "models/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bb::fuzz::run_one([&] {
    bb::SafetensorsFile f = bb::SafetensorsFile::parse(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
    for (const auto& t : f.tensors())
      if (t.dtype == bb::DType::F32 || t.dtype == bb::DType::F16 || t.dtype == bb::DType::BF16 || t.dtype == bb::DType::F64)
        (void)f.to_f32(t);
  });
}
