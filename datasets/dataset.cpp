#include "datasets/dataset.hpp"

#include "datasets/image_decode.hpp"

namespace bb {

InMemoryDataset::InMemoryDataset(std::string name, std::string split, std::string source,
                                 std::vector<std::string> class_names, ImageShape shape,
                                 std::vector<uint8_t> pixels, std::vector<int> labels,
                                 std::vector<std::string> record_files, std::vector<size_t> records_per_file)
    : shape_(shape),
      pixels_(std::move(pixels)),
      labels_(std::move(labels)),
      record_files_(std::move(record_files)),
      records_per_file_(std::move(records_per_file)) {
  name_ = std::move(name);
  split_ = std::move(split);
  source_ = std::move(source);
  class_names_ = std::move(class_names);
}

cv::Mat InMemoryDataset::image(size_t i) const {
  // A header over the shared buffer: no copy, read-only by convention.
  auto* p = const_cast<uint8_t*>(pixels_.data() + i * image_bytes());
  return cv::Mat(shape_.height, shape_.width, CV_8UC(shape_.channels), p);
}

std::string InMemoryDataset::origin(size_t i) const {
  size_t k = i;
  for (size_t f = 0; f < record_files_.size() && f < records_per_file_.size(); ++f) {
    if (k < records_per_file_[f]) return record_files_[f] + ": record " + std::to_string(k);
    k -= records_per_file_[f];
  }
  return source_ + ": image " + std::to_string(i);
}

FileListDataset::FileListDataset(std::string name, std::string split, std::string source,
                                 std::vector<std::string> class_names, std::vector<Item> items,
                                 std::vector<std::string> skipped)
    : items_(std::move(items)) {
  name_ = std::move(name);
  split_ = std::move(split);
  source_ = std::move(source);
  class_names_ = std::move(class_names);
  skipped_ = std::move(skipped);
}

cv::Mat FileListDataset::image(size_t i) const { return decode_image_file(items_[i].path); }

}  // namespace bb
