#include "datasets/dataset_config.hpp"

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "datasets/cifar.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_folder.hpp"

namespace bb {

DataConfig read_data_config(JsonReader& root, int model_img_size, int model_in_chans) {
  DataConfig c;
  {
    JsonReader r = root.object("dataset");
    DatasetConfig& d = c.dataset;
    r.read_enum("name", d.name, {"fashion-mnist", "mnist", "cifar10", "cifar100", "imagefolder", "imagenet"});
    r.read("data_dir", d.data_dir);
    r.read_enum("train_split", d.train_split, {"train", "test", "val"});
    r.read_enum("eval_split", d.eval_split, {"train", "test", "val"});
    r.read("label_file", d.label_file);
    r.read("synset_map", d.synset_map);
    r.read_enum("cifar100_labels", d.cifar100_labels, {"fine", "coarse"});
    r.read("class_map", d.class_map);
    r.finish();
  }
  {
    JsonReader r = root.object("transform");
    TransformConfig& t = c.transform;
    r.read("img_size", t.img_size, 1, 4096);
    r.read("crop_pct", t.crop_pct, Range{kMinCropPct, 1});
    r.read_enum("interpolation", t.interpolation, {"bilinear", "bicubic", "nearest", "box", "hamming", "lanczos", "area"});
    r.read_enum("resize", t.resize, {"pillow", "opencv"});
    r.read("in_chans", t.in_chans, 1, 3);
    if (t.in_chans == 2) throw r.error("in_chans", "expected 1 or 3, got 2");
    r.read("mean", t.mean, 1, 3, Range{0, 1});
    r.read("std", t.std, 1, 3, Range{0, 1e9, true, false});
    r.finish();
  }
  {
    JsonReader r = root.object("augment");
    AugmentConfig& a = c.augment;
    r.read("pad", a.pad, 0, 1024);
    r.read("hflip", a.hflip, Range{0, 1});
    r.read("random_resized_crop", a.random_resized_crop);
    r.read("scale", a.scale, 2, 2, Range{0, 1, true, false});
    r.read("ratio", a.ratio, 2, 2, Range{0, 100, true, false});
    if (a.scale[0] > a.scale[1]) throw r.error("scale", "expected [min, max] with min <= max");
    if (a.ratio[0] > a.ratio[1]) throw r.error("ratio", "expected [min, max] with min <= max");
    r.finish();
  }
  // Checks across fields, once the data set is known.
  if (!c.transform.img_size) c.transform.img_size = model_img_size;
  if (!c.transform.in_chans) c.transform.in_chans = model_in_chans;
  resolve(c);
  int ch = c.transform.in_chans;
  if (c.transform.mean.size() != static_cast<size_t>(ch))
    throw Error::config(root.file(), "/transform/mean", "expected " + std::to_string(ch) + " values (in_chans), got " +
                                                            std::to_string(c.transform.mean.size()));
  if (c.transform.std.size() != static_cast<size_t>(ch))
    throw Error::config(root.file(), "/transform/std", "expected " + std::to_string(ch) + " values (in_chans), got " +
                                                           std::to_string(c.transform.std.size()));
  return c;
}

void resolve(DataConfig& c) {
  const DatasetPreset& p = dataset_preset(c.dataset.name);
  if (c.dataset.data_dir.empty()) c.dataset.data_dir = p.default_dir;
  if (c.dataset.eval_split.empty()) c.dataset.eval_split = p.eval_split;
  TransformConfig& t = c.transform;
  if (!t.img_size) t.img_size = p.img_size;
  if (t.crop_pct == 0) t.crop_pct = p.crop_pct;
  if (t.interpolation.empty()) t.interpolation = "bilinear";  // timm's default without a model's setting
  if (!t.in_chans) t.in_chans = p.in_chans;
  // A preset's 1-channel statistics stretch to 3 channels (and 3 average to 1).
  auto fit = [&](std::vector<double>& v, const std::vector<double>& preset) {
    if (!v.empty()) return;
    if (static_cast<int>(preset.size()) == t.in_chans) v = preset;
    else if (preset.size() == 1) v.assign(static_cast<size_t>(t.in_chans), preset[0]);
    else v.assign(1, (preset[0] + preset[1] + preset[2]) / 3);
  };
  fit(t.mean, p.mean);
  fit(t.std, p.std);
  if (c.augment.pad < 0) c.augment.pad = p.pad;
  if (c.augment.hflip < 0) c.augment.hflip = p.hflip;
}

nlohmann::json to_json(const DataConfig& c) {
  const auto& d = c.dataset;
  const auto& t = c.transform;
  const auto& a = c.augment;
  nlohmann::json j;
  j["dataset"] = {{"name", d.name},           {"data_dir", d.data_dir},     {"train_split", d.train_split},
                  {"eval_split", d.eval_split}, {"label_file", d.label_file}, {"synset_map", d.synset_map},
                  {"cifar100_labels", d.cifar100_labels}};
  if (!d.class_map.empty()) j["dataset"]["class_map"] = d.class_map;  // only when set: older recipes keep their hashes
  j["transform"] = {{"img_size", t.img_size}, {"crop_pct", t.crop_pct}, {"interpolation", t.interpolation},
                    {"in_chans", t.in_chans}, {"mean", t.mean},         {"std", t.std}};
  // The resize enters the recipe (and its hash) where one runs: ImageFolder
  // and ImageNet images, or a fixed-size data set taken to another size. A
  // Fashion-MNIST or CIFAR recipe at its native size and crop 1.0 runs none,
  // so its hash is what it was before Pillow's resize became the default.
  const bool any_size = d.name == "imagefolder" || d.name == "imagenet";
  const bool resizes = any_size || t.crop_pct <= 0 ||
                       static_cast<int>(std::floor(t.img_size / t.crop_pct)) != dataset_preset(d.name).img_size;
  if (resizes || t.resize != TransformConfig{}.resize) j["transform"]["resize"] = t.resize;
  j["augment"] = {{"pad", a.pad},
                  {"hflip", a.hflip},
                  {"random_resized_crop", a.random_resized_crop},
                  {"scale", a.scale},
                  {"ratio", a.ratio}};
  return j;
}

std::unique_ptr<Dataset> open_dataset(const DatasetConfig& c, const std::string& split) {
  const DatasetPreset& p = dataset_preset(c.name);
  std::string dir = c.data_dir.empty() ? p.default_dir : c.data_dir;
  if (dir.empty()) throw Error::usage("data set " + c.name + " needs a data directory (--data-dir or dataset.data_dir)");
  if (c.name == "fashion-mnist" || c.name == "mnist") return load_mnist_style(c.name, dir, split, p.class_names);
  if (c.name == "cifar10") return load_cifar10(dir, split);
  if (c.name == "cifar100") return load_cifar100(dir, split, c.cifar100_labels);
  if (c.name == "imagenet") return load_imagenet(dir, split, {c.label_file, c.synset_map});
  // imagefolder: <dir>/<split> when it exists, else <dir> itself.
  std::filesystem::path sub = std::filesystem::path(dir) / split;
  if (!split.empty() && is_dir_path(sub)) return load_image_folder(sub.string(), "imagefolder", split);
  return load_image_folder(dir, "imagefolder", split);
}

}  // namespace bb
