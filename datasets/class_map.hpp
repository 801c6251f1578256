#pragma once
// Which model class each of a data set's labels stands for. A model's class
// index means what its training data meant by it; an ImageFolder's labels are
// only folder indices. Matching the two is never guessed: by the checkpoint's
// class names, by a class-map file (timm's --class-map: one class name per
// line, in the model's class-index order), by the published format's own
// indices, or by the user's explicit word (`by-index`); anything else is
// refused with what to pass.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"

namespace bb {

inline constexpr const char* kClassMapByIndex = "by-index";

struct ClassMap {
  std::vector<int> to_model;  // data-set label → model class
  std::string source;         // how the mapping was decided, in words
  bool identity = true;
  // The model's classes by name as far as anything says (the checkpoint's
  // names, a class-map file's, else numbers): a relabeled data set's classes.
  std::vector<std::string> model_class_names;
  // {"source": ..., "mapping": {"<data-set class>": <model class>, ...} or "identity"} for result fields.
  nlohmann::ordered_json fields(const Dataset& ds) const;
};

// `request`: "" (decide from the names), kClassMapByIndex, or a class-map
// file. `model_names`: the checkpoint's class names (empty when it has none).
// Error(Usage/Input) naming the folder, the checkpoint or the map file when
// the data set's classes cannot be matched to the model's.
ClassMap resolve_class_map(const Dataset& ds, int model_classes, const std::vector<std::string>& model_names,
                           const std::string& request, const std::string& checkpoint);

// A data set seen through a class map: the same images, labels in the model's
// class indices, the model's class names (or numbers) as its classes.
class RelabeledDataset : public Dataset {
 public:
  RelabeledDataset(const Dataset& inner, const ClassMap& map);
  size_t size() const override { return inner_.size(); }
  int label(size_t i) const override { return to_model_[static_cast<size_t>(inner_.label(i))]; }
  cv::Mat image(size_t i) const override { return inner_.image(i); }
  std::string origin(size_t i) const override { return inner_.origin(i); }
  std::optional<ImageShape> fixed_shape() const override { return inner_.fixed_shape(); }

 private:
  const Dataset& inner_;
  std::vector<int> to_model_;
};

}  // namespace bb
