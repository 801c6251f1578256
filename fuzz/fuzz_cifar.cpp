// CIFAR-10 binary: a fuzzed test_batch.bin beside a fixed batches.meta.txt;
// every record that loads must decode.
#include <filesystem>

#include "datasets/cifar.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string meta = [] {
    const std::string names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
    return bb::fuzz::put("cifar/batches.meta.txt", reinterpret_cast<const uint8_t*>(names.data()), names.size());
  }();
  const std::string batch = bb::fuzz::put("cifar/test_batch.bin", data, size);
  return bb::fuzz::run_one([&] {
    auto ds = bb::load_cifar10(std::filesystem::path(batch).parent_path().string(), "test");
    for (size_t i = 0; i < ds->size() && i < 4; ++i) {
      (void)ds->label(i);
      (void)ds->image(i);
    }
  });
}
