#pragma once
// The model files one `bitbench run` uses, each read once: its bytes give the
// content hash (stage keys), bitbench's metadata (history, lineage, class
// names), the weights' SHA-256 (lineage) and the model as loaded. Every
// backend then runs its own copy of that model; nothing reads the file again.
#include <map>
#include <optional>
#include <string>

#include "models/packed.hpp"

namespace bb {

struct ModelFile {
  std::string hash;            // fnv1a_hex of the file's bytes (eval/stage_cache.hpp)
  std::string weights_sha256;  // models/safetensors.hpp
  LoadedModel model;           // metadata: model.metadata
};

class ModelFiles {
 public:
  // Reads and loads `path` the first time (given: as load_model; a path keeps
  // the config it was first loaded with); the same entry afterwards.
  const ModelFile& get(const std::string& path, const std::optional<GivenConfig>& given = std::nullopt);
  // A copy of its model for one backend to run (a RunnableModel owns and may trim its parameters).
  LoadedModel copy(const std::string& path, const std::optional<GivenConfig>& given = std::nullopt);

 private:
  std::map<std::string, ModelFile> files_;
};

}  // namespace bb
