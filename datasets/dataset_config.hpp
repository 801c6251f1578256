#pragma once
// Which data set to read and how to turn its images into model inputs: the
// `dataset`, `transform` and `augment` sections of a config. Defaults that
// depend on the data set (directory, mean/std, image size, channels, flips)
// come from one preset table (presets.cpp) and are filled in by resolve().
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_reader.hpp"
#include "datasets/dataset.hpp"

namespace bb {

struct DatasetConfig {
  std::string name = "fashion-mnist";  // fashion-mnist | mnist | cifar10 | cifar100 | imagefolder | imagenet
  std::string data_dir;                // "" = the preset's directory (Debian's for Fashion-MNIST)
  std::string train_split = "train";
  std::string eval_split;              // "" = the preset's ("test", or "val" for ImageNet)
  std::string label_file;              // ImageNet flat val: val_map.txt or LOC_val_solution.csv
  std::string synset_map;              // ImageNet: LOC_synset_mapping.txt
  std::string cifar100_labels = "fine";  // fine | coarse
  // Which model class each label is (datasets/class_map.hpp): "" = by the
  // checkpoint's class names, or the format's own indices; "by-index"; or a
  // class-map file (one class name per line, in class-index order).
  std::string class_map;
};

// The smallest center-crop fraction accepted anywhere (flag, config, a
// checkpoint's transform): below it the resize before the crop grows past
// 100x the input side for nothing a model was ever evaluated with.
inline constexpr double kMinCropPct = 0.01;

struct TransformConfig {
  int img_size = 0;         // 0 = the preset's
  double crop_pct = 0;      // 0 = the preset's; resize shorter side to img_size / crop_pct, then center crop
  std::string interpolation = "bilinear";  // bilinear | bicubic | nearest | box | hamming | lanczos (pillow); area (opencv)
  // pillow (default): Pillow's Image.resize byte for byte, what timm's eval
  // and train transforms run on PIL images; opencv: cv::resize (no
  // antialiasing when shrinking, bicubic a = -0.75), kept for speed comparisons.
  std::string resize = "pillow";
  int in_chans = 0;         // 0 = the preset's; gray is repeated to 3 channels, RGB turned to gray for 1
  std::vector<double> mean, std;  // empty = the preset's; one value per channel
};

struct AugmentConfig {
  int pad = -1;               // random crop after zero padding by this many pixels; -1 = the preset's
  double hflip = -1;          // horizontal flip probability; -1 = the preset's
  bool random_resized_crop = false;  // timm/torchvision RandomResizedCrop instead of pad-and-crop
  std::vector<double> scale = {0.08, 1.0};
  std::vector<double> ratio = {3.0 / 4.0, 4.0 / 3.0};
};

struct DataConfig {
  DatasetConfig dataset;
  TransformConfig transform;
  AugmentConfig augment;
};

// Reads the three sections from a parent object and resolves them. A model's
// explicit input size and channels, when given, come before the preset's.
DataConfig read_data_config(JsonReader& root, int model_img_size = 0, int model_in_chans = 0);
void resolve(DataConfig& c);
// The resolved sections as JSON (the shape read_data_config accepts).
nlohmann::json to_json(const DataConfig& c);

// Opens the split of the configured data set ("train" or the eval split).
std::unique_ptr<Dataset> open_dataset(const DatasetConfig& c, const std::string& split);

struct DatasetPreset {
  const char* name;
  const char* default_dir;  // "" = must be given
  const char* eval_split;
  int img_size, in_chans;
  double crop_pct;
  std::vector<double> mean, std;
  int pad;
  double hflip;
  std::vector<std::string> class_names;  // empty = read from the data
  int num_classes;                        // as published (0 = known only from the data)
};
const DatasetPreset& dataset_preset(const std::string& name);
std::vector<std::string> dataset_names();

}  // namespace bb
