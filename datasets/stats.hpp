#pragma once
// What `bitbench data inspect` reports about a data set: counts per class,
// image shapes seen, and the per-channel pixel mean/std of the raw images
// scaled to [0, 1] (the numbers a config's mean/std should hold).
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"

namespace bb {

struct DatasetStats {
  int64_t count = 0;
  std::vector<int64_t> per_class;  // [num_classes]
  int min_height = 0, max_height = 0, min_width = 0, max_width = 0, channels = 0;
  std::vector<double> mean, std;   // [channels]
};

// Decodes each of `indices` (all when empty) on `workers` threads, with a progress line.
DatasetStats compute_stats(const Dataset& ds, const std::vector<int64_t>& indices, int workers, bool progress = true);

// A PNG contact sheet: one row per class (up to max_classes), up to per_class
// samples each, tiles of `tile` pixels, the class name at the row's left.
std::vector<uint8_t> contact_sheet_png(const Dataset& ds, const std::vector<int64_t>& indices, int per_class,
                                       int max_classes = 20, int tile = 64);

}  // namespace bb
