#include "datasets/class_map.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace bb {
namespace {

// Data sets whose labels are folder indices (ImageFolder layouts), not a published format's class indices.
bool labels_are_folder_indices(const Dataset& ds) {
  if (ds.name() == "imagefolder") return true;
  // ImageNet as class folders (train/ or val/ by synset), not a flat val with a label file.
  return ds.name() == "imagenet" && !ds.class_names().empty() && ds.class_names()[0].rfind('n', 0) == 0 &&
         ds.class_names()[0].size() == 9;
}

std::string quoted_list(const std::vector<std::string>& v, size_t max = 5) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max; ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
  if (v.size() > max) s += ", ... (" + std::to_string(v.size()) + " in all)";
  return s;
}

const char* kWhatToPass =
    "pass --class-map FILE (the model's class names, one per line in class-index order; the first word of a line "
    "also matches, as in LOC_synset_mapping.txt) or --class-map by-index to take label i as class i";

// Maps each data-set class to the model class of the same name; the names not found.
std::vector<std::string> match_by_name(const std::vector<std::string>& ds_names, const std::vector<std::string>& model_names,
                                       std::vector<int>& to_model, bool first_word_too) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < model_names.size(); ++i) {
    index.emplace(model_names[i], static_cast<int>(i));
    // A '/' in a class name ("T-shirt/top") cannot be in a folder name: '_', '-' or ' ' in its place match too.
    if (model_names[i].find('/') != std::string::npos)
      for (char sub : {'_', '-', ' '}) {
        std::string v = model_names[i];
        std::replace(v.begin(), v.end(), '/', sub);
        index.emplace(v, static_cast<int>(i));
      }
    if (first_word_too) {
      std::istringstream w(model_names[i]);
      std::string first;
      if (w >> first) index.emplace(first, static_cast<int>(i));  // exact names win (emplace keeps the first)
    }
  }
  std::vector<std::string> missing;
  to_model.assign(ds_names.size(), -1);
  for (size_t c = 0; c < ds_names.size(); ++c) {
    auto it = index.find(ds_names[c]);
    if (it == index.end()) missing.push_back(ds_names[c]);
    else to_model[c] = it->second;
  }
  return missing;
}

std::vector<std::string> read_class_map_file(const std::string& path, int model_classes) {
  const std::string text = read_file_text(path, 64ull << 20);
  std::vector<std::string> names;
  std::istringstream s(text);
  for (std::string line; std::getline(s, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty()) continue;
    names.push_back(line);
  }
  if (names.empty()) throw Error::input(path, "class map names no classes");
  if (static_cast<int>(names.size()) > model_classes)
    throw Error::input(path, "class map names " + std::to_string(names.size()) + " classes, the model has " +
                                 std::to_string(model_classes));
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < names.size(); ++i)
    if (auto [it, fresh] = seen.emplace(names[i], i); !fresh)
      throw Error::input(path, "class map names \"" + names[i] + "\" twice (lines " + std::to_string(it->second + 1) +
                                   " and " + std::to_string(i + 1) + ")");
  return names;
}

}  // namespace

nlohmann::ordered_json ClassMap::fields(const Dataset& ds) const {
  nlohmann::ordered_json j;
  j["source"] = source;
  if (identity) {
    j["mapping"] = "identity";
    return j;
  }
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  for (size_t c = 0; c < to_model.size(); ++c) m[ds.class_names()[c]] = to_model[c];
  j["mapping"] = m;
  return j;
}

namespace {

ClassMap decide_class_map(const Dataset& ds, int model_classes, const std::vector<std::string>& model_names,
                          const std::string& request, const std::string& checkpoint) {
  const std::vector<std::string>& names = ds.class_names();
  const int n = ds.num_classes();
  ClassMap m;
  auto identity = [&](std::string source) {
    if (n > model_classes)
      throw Error::input(checkpoint, "has " + std::to_string(model_classes) + " classes, the data set " + std::to_string(n));
    m.to_model.resize(static_cast<size_t>(n));
    for (int c = 0; c < n; ++c) m.to_model[static_cast<size_t>(c)] = c;
    m.source = std::move(source);
    m.identity = true;
    return m;
  };
  auto by_name = [&](const std::vector<std::string>& targets, bool first_word_too, const std::string& source,
                     const std::string& where) {
    std::vector<std::string> missing = match_by_name(names, targets, m.to_model, first_word_too);
    if (!missing.empty())
      throw Error::input(where, std::to_string(missing.size()) + " of the data set's " + std::to_string(n) +
                                    " classes are not among its class names: " + quoted_list(missing) + " (" +
                                    ds.source() + "); " + kWhatToPass);
    m.source = source;
    m.identity = true;
    for (int c = 0; c < n; ++c) m.identity = m.identity && m.to_model[static_cast<size_t>(c)] == c;
    return m;
  };

  if (request == kClassMapByIndex) return identity("label i is class i (--class-map by-index)");
  if (!request.empty())
    return by_name(read_class_map_file(request, model_classes), true, "class map " + request, request);
  if (!model_names.empty()) {
    if (model_names == names) return identity("the checkpoint's class names (the data set's, in the same order)");
    return by_name(model_names, false, "the checkpoint's class names, matched by name", checkpoint);
  }
  if (!labels_are_folder_indices(ds)) return identity("the data set's own class indices (" + ds.name() + ")");
  // ImageNet-1k as its 1000 synset folders: sorted synset order is the class-index order of every 1000-class ImageNet head.
  if (ds.name() == "imagenet" && n == model_classes && n == 1000)
    return identity("ImageNet-1k's class order (sorted synset folders)");
  throw Error::usage(ds.source() + ": labels are folder indices (" + quoted_list(names, 3) + ") and " + checkpoint +
                     " names no classes (no bitbench.class_names metadata), so which folder is which class is not "
                     "known; " + kWhatToPass);
}

}  // namespace

ClassMap resolve_class_map(const Dataset& ds, int model_classes, const std::vector<std::string>& model_names,
                           const std::string& request, const std::string& checkpoint) {
  ClassMap m = decide_class_map(ds, model_classes, model_names, request, checkpoint);
  m.model_class_names = model_names;
  if (m.model_class_names.empty() && !request.empty() && request != kClassMapByIndex)
    m.model_class_names = read_class_map_file(request, model_classes);
  if (m.model_class_names.empty() && m.identity) m.model_class_names = ds.class_names();
  for (int c = static_cast<int>(m.model_class_names.size()); c < model_classes; ++c)
    m.model_class_names.push_back(std::to_string(c));
  return m;
}

RelabeledDataset::RelabeledDataset(const Dataset& inner, const ClassMap& map)
    : inner_(inner), to_model_(map.to_model) {
  name_ = inner.name();
  split_ = inner.split();
  source_ = inner.source();
  skipped_ = inner.skipped();
  class_names_ = map.model_class_names;
}

}  // namespace bb
