// The one table of per-data-set defaults. Mean/std are the commonly published
// statistics of each training set (Fashion-MNIST's were re-measured with
// `bitbench data inspect`); ImageNet uses timm's IMAGENET_DEFAULT_MEAN/STD.
#include <iterator>

#include "core/error.hpp"
#include "datasets/dataset_config.hpp"

namespace bb {
namespace {
// ImageNet-1k's names in class-index order: what `predict` prints for a timm
// ImageNet checkpoint, which carries no names of its own.
// (A plain array: a 1 000-string initializer list is slow to compile under sanitizers.)
constexpr const char* kImagenetClassNames[] = {
#include "datasets/imagenet_class_names.inc"
};
std::vector<std::string> imagenet_class_names() {
  return std::vector<std::string>(std::begin(kImagenetClassNames), std::end(kImagenetClassNames));
}

const std::vector<DatasetPreset>& presets() {
  static const std::vector<DatasetPreset> table = {
      {"fashion-mnist", "/usr/share/datasets/fashion-mnist", "test", 28, 1, 1.0, {0.2860}, {0.3530}, 2, 0.5,
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}, 10},
      {"mnist", "", "test", 28, 1, 1.0, {0.1307}, {0.3081}, 2, 0.0,
       {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, 10},
      {"cifar10", "", "test", 32, 3, 1.0, {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}, 4, 0.5, {}, 10},
      {"cifar100", "", "test", 32, 3, 1.0, {0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}, 4, 0.5, {}, 100},
      {"imagefolder", "", "val", 224, 3, 0.875, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}, 0, 0.5, {}, 0},
      {"imagenet", "", "val", 224, 3, 0.875, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}, 0, 0.5, imagenet_class_names(), 1000},
  };
  return table;
}
}  // namespace

const DatasetPreset& dataset_preset(const std::string& name) {
  for (const auto& p : presets())
    if (name == p.name) return p;
  throw Error::usage("unknown data set \"" + name + "\"");
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& p : presets()) names.push_back(p.name);
  return names;
}

}  // namespace bb
