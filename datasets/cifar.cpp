#include "datasets/cifar.hpp"

#include <filesystem>
#include <sstream>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace fs = std::filesystem;

namespace bb {
namespace {

constexpr int kSide = 32;
constexpr size_t kPixels = 3 * kSide * kSide;

const std::vector<std::string> kCifar10Names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};

std::string resolve_dir(const std::string& dir, const std::string& probe, const std::string& sub) {
  if (!is_dir_path(dir)) throw Error::input(dir, "no such directory");
  if (path_exists(fs::path(dir) / probe)) return dir;
  if (path_exists(fs::path(dir) / sub / probe)) return (fs::path(dir) / sub).string();
  return dir;  // the missing file is reported by name below
}

// Reads class names, one per non-empty line; returns `fallback` when the file
// is absent, refuses a file with the wrong count.
std::vector<std::string> read_names(const std::string& path, size_t expected, const std::vector<std::string>& fallback) {
  if (!path_exists(path)) return fallback;
  std::istringstream in(read_file_text(path, 1 << 20));
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.size() != expected)
    throw Error::input(path, "holds " + std::to_string(names.size()) + " class names, expected " + std::to_string(expected));
  return names;
}

// Appends the records of one file, converting planar RGB to HWC.
// label_limits[k]: label byte k must be below it; label_index picks the byte used.
void read_records(const std::string& path, const std::vector<int>& label_limits, int label_index,
                  std::vector<uint8_t>& pixels, std::vector<int>& labels, std::vector<std::string>& files,
                  std::vector<size_t>& counts) {
  if (!is_file_path(path)) throw Error::input(path, "missing CIFAR file");
  std::vector<uint8_t> b = read_file_bytes(path, 1ull << 31);
  const int label_bytes = static_cast<int>(label_limits.size());
  size_t rec = static_cast<size_t>(label_bytes) + kPixels;
  if (b.empty() || b.size() % rec != 0)
    throw Error::input(path, "size " + std::to_string(b.size()) + " is not a multiple of the " + std::to_string(rec) +
                                 "-byte record (truncated or not a CIFAR binary file)");
  size_t n = b.size() / rec;
  size_t base = pixels.size();
  pixels.resize(base + n * kPixels);
  for (size_t r = 0; r < n; ++r) {
    const uint8_t* src = &b[r * rec];
    for (int k = 0; k < label_bytes; ++k) {
      if (src[k] >= label_limits[static_cast<size_t>(k)])
        throw Error::input_at(path, r * rec + static_cast<size_t>(k),
                              "label byte " + std::to_string(src[k]) + " out of range in record " + std::to_string(r));
    }
    labels.push_back(src[label_index]);
    const uint8_t* px = src + label_bytes;
    uint8_t* dst = &pixels[base + r * kPixels];
    for (int i = 0; i < kSide * kSide; ++i)
      for (int c = 0; c < 3; ++c) dst[i * 3 + c] = px[c * kSide * kSide + i];
  }
  files.push_back(path);
  counts.push_back(n);
}

}  // namespace

std::unique_ptr<Dataset> load_cifar10(const std::string& dir_in, const std::string& split) {
  std::string dir = resolve_dir(dir_in, "test_batch.bin", "cifar-10-batches-bin");
  std::vector<std::string> batch_files;
  if (split == "train")
    for (int i = 1; i <= 5; ++i) batch_files.push_back((fs::path(dir) / ("data_batch_" + std::to_string(i) + ".bin")).string());
  else if (split == "test")
    batch_files.push_back((fs::path(dir) / "test_batch.bin").string());
  else
    throw Error::usage("cifar10 has splits train and test, not \"" + split + "\"");
  auto names = read_names((fs::path(dir) / "batches.meta.txt").string(), 10, kCifar10Names);
  std::vector<uint8_t> pixels;
  std::vector<int> labels;
  std::vector<std::string> files;
  std::vector<size_t> counts;
  for (const auto& f : batch_files) read_records(f, {10}, 0, pixels, labels, files, counts);
  return std::make_unique<InMemoryDataset>("cifar10", split, dir, names, ImageShape{kSide, kSide, 3}, std::move(pixels),
                                           std::move(labels), std::move(files), std::move(counts));
}

std::unique_ptr<Dataset> load_cifar100(const std::string& dir_in, const std::string& split, const std::string& label_set) {
  std::string dir = resolve_dir(dir_in, "test.bin", "cifar-100-binary");
  if (split != "train" && split != "test") throw Error::usage("cifar100 has splits train and test, not \"" + split + "\"");
  bool coarse = label_set == "coarse";
  size_t n_classes = coarse ? 20 : 100;
  std::vector<std::string> fallback;
  for (size_t i = 0; i < n_classes; ++i) fallback.push_back((coarse ? "superclass_" : "class_") + std::to_string(i));
  auto names = read_names((fs::path(dir) / (coarse ? "coarse_label_names.txt" : "fine_label_names.txt")).string(),
                          n_classes, fallback);
  std::vector<uint8_t> pixels;
  std::vector<int> labels;
  std::vector<std::string> files;
  std::vector<size_t> counts;
  // Byte 0 is the coarse label (< 20), byte 1 the fine label (< 100).
  read_records((fs::path(dir) / (split + ".bin")).string(), {20, 100}, coarse ? 0 : 1, pixels, labels, files, counts);
  return std::make_unique<InMemoryDataset>("cifar100", split, dir, names, ImageShape{kSide, kSide, 3},
                                           std::move(pixels), std::move(labels), std::move(files), std::move(counts));
}

}  // namespace bb
