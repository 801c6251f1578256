// A whole checkpoint as `validate` would meet it: a teacher (config from
// metadata or inferred from shapes), a latent student (quant plan in metadata)
// or a packed student (its packing table and codes).
#include "fuzz/fuzz_util.hpp"
#include "models/packed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bb::fuzz::put("model.safetensors", data, size);
  return bb::fuzz::run_one([&] { (void)bb::load_model(path); });
}
