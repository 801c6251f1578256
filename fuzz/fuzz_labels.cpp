// ImageNet's label files over a fixed flat val folder of three images: the
// first input byte picks which file is fuzzed (val_map.txt, Kaggle's
// LOC_val_solution.csv, or LOC_synset_mapping.txt beside a fixed CSV).
#include <filesystem>
#include <string>

#include "datasets/fixtures.hpp"
#include "datasets/image_folder.hpp"
#include "fuzz/fuzz_util.hpp"

namespace {

// The val folder: Kaggle-style fixture (3 images, 2 classes); returns its path.
const std::string& val_dir() {
  static const std::string dir = [] {
    const std::string d = (bb::fuzz::scratch_dir() / "val").string();
    bb::write_imagenet_val_fixture(d, 3, 2, "kaggle", 8, 8);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string& dir = val_dir();
  const int mode = data[0] % 3;
  const std::string name = mode == 0 ? "val_map.txt" : mode == 1 ? "fuzz_solution.csv" : "fuzz_synsets.txt";
  const std::string path = bb::fuzz::put("labels/" + name, data + 1, size - 1);
  return bb::fuzz::run_one([&] {
    bb::ImagenetOptions o;
    o.label_file = mode == 2 ? dir + "/LOC_val_solution.csv" : path;
    if (mode == 1) o.synset_map = dir + "/LOC_synset_mapping.txt";
    if (mode == 2) o.synset_map = path;
    auto ds = bb::load_imagenet_flat(dir, o);
    for (size_t i = 0; i < ds->size(); ++i) (void)ds->label(i);
  });
}
