#pragma once
// NumPy .npy files (version 1.0/2.0, little-endian float32, C order): enough to
// read reference vectors and write logits another framework can load.
#include <cstdint>
#include <string>
#include <vector>

namespace bb {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Refuses anything but '<f4' C-order data with a consistent byte count.
NpyArray read_npy(const std::string& path);
// Written atomically.
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace bb
