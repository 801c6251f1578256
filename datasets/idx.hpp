#pragma once
// IDX files (MNIST, Fashion-MNIST): big-endian header `00 00 <type> <ndims>`,
// ndims big-endian uint32 sizes, then the data. Only unsigned-byte data
// (type 0x08) is used by these data sets. Plain or .gz.
#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"

namespace bb {

struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;
};

// Reads and checks an IDX file with `ndims` dimensions of unsigned bytes.
IdxArray read_idx(const std::string& path, int ndims);

// The four files of an MNIST-style directory: "train" uses train-*, "test" t10k-*.
// Looks for each name plain, then with .gz.
std::unique_ptr<Dataset> load_mnist_style(const std::string& name, const std::string& dir, const std::string& split,
                                          std::vector<std::string> class_names);

}  // namespace bb
