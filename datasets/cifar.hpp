#pragma once
// CIFAR-10 and CIFAR-100, binary versions, as published:
//   CIFAR-10:  data_batch_1..5.bin, test_batch.bin; record = 1 label byte + 3072
//              bytes (1024 R, 1024 G, 1024 B, row-major 32x32); batches.meta.txt
//              holds the class names.
//   CIFAR-100: train.bin, test.bin; record = coarse label byte, fine label byte,
//              3072 pixel bytes; fine_label_names.txt / coarse_label_names.txt.
// The directory may be the one holding the files or its parent (the
// cifar-10-batches-bin / cifar-100-binary folder of the tarball).
#include <memory>
#include <string>

#include "datasets/dataset.hpp"

namespace bb {

std::unique_ptr<Dataset> load_cifar10(const std::string& dir, const std::string& split);
// label_set: "fine" (100 classes) or "coarse" (20 superclasses).
std::unique_ptr<Dataset> load_cifar100(const std::string& dir, const std::string& split,
                                       const std::string& label_set = "fine");

}  // namespace bb
