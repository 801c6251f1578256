#pragma once
// A data set as published: N labelled images, decoded on demand to HWC uint8
// (1 channel gray or 3 channels RGB). Implementations are immutable after
// construction, so image() may be called from many loader threads at once.
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bb {

// A label file may not name more classes than this (the largest ViT head
// bitbench builds, vit_config's num_classes limit): the class list is
// allocated from the largest label it names.
inline constexpr int kMaxClasses = 1 << 20;

struct ImageShape {
  int height = 0, width = 0, channels = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  virtual int label(size_t i) const = 0;
  virtual cv::Mat image(size_t i) const = 0;  // HWC uint8, gray or RGB
  // Where image i lives, for messages: "dir/a.jpg" or "file: record 17".
  virtual std::string origin(size_t i) const = 0;
  // Set when every image has the same shape (in-memory formats).
  virtual std::optional<ImageShape> fixed_shape() const { return std::nullopt; }

  const std::string& name() const { return name_; }    // "fashion-mnist"
  const std::string& split() const { return split_; }  // "train"
  const std::string& source() const { return source_; }  // directory or file read
  const std::vector<std::string>& class_names() const { return class_names_; }
  int num_classes() const { return static_cast<int>(class_names_.size()); }
  // Files the reader passed over (not images), for a warning.
  const std::vector<std::string>& skipped() const { return skipped_; }

 protected:
  std::string name_, split_, source_;
  std::vector<std::string> class_names_;
  std::vector<std::string> skipped_;
};

// Images held in one buffer: IDX and CIFAR. Pixels are HWC, contiguous per image.
class InMemoryDataset : public Dataset {
 public:
  InMemoryDataset(std::string name, std::string split, std::string source, std::vector<std::string> class_names,
                  ImageShape shape, std::vector<uint8_t> pixels, std::vector<int> labels,
                  std::vector<std::string> record_files = {}, std::vector<size_t> records_per_file = {});
  size_t size() const override { return labels_.size(); }
  int label(size_t i) const override { return labels_[i]; }
  cv::Mat image(size_t i) const override;
  std::string origin(size_t i) const override;
  std::optional<ImageShape> fixed_shape() const override { return shape_; }
  // Direct access for fast paths: image i starts at pixels() + i * image_bytes().
  const uint8_t* pixels() const { return pixels_.data(); }
  size_t image_bytes() const { return static_cast<size_t>(shape_.height) * shape_.width * shape_.channels; }

 private:
  ImageShape shape_;
  std::vector<uint8_t> pixels_;
  std::vector<int> labels_;
  std::vector<std::string> record_files_;
  std::vector<size_t> records_per_file_;
};

// Images as files on disk, decoded with OpenCV on each access: ImageFolder, ImageNet val.
class FileListDataset : public Dataset {
 public:
  struct Item {
    std::string path;
    int label;
  };
  FileListDataset(std::string name, std::string split, std::string source, std::vector<std::string> class_names,
                  std::vector<Item> items, std::vector<std::string> skipped = {});
  size_t size() const override { return items_.size(); }
  int label(size_t i) const override { return items_[i].label; }
  cv::Mat image(size_t i) const override;
  std::string origin(size_t i) const override { return items_[i].path; }
  const std::vector<Item>& items() const { return items_; }

 private:
  std::vector<Item> items_;
};

}  // namespace bb
