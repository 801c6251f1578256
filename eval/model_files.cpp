#include "eval/model_files.hpp"

#include <algorithm>

#include "core/file_io.hpp"
#include "eval/stage_cache.hpp"
#include "models/safetensors.hpp"

namespace bb {

const ModelFile& ModelFiles::get(const std::string& path, const std::optional<GivenConfig>& given) {
  auto it = files_.find(path);
  if (it != files_.end()) return it->second;
  std::vector<uint8_t> bytes = read_file_bytes(path, 64ull << 30);
  std::string hash = fnv1a_hex(bytes.data(), bytes.size());
  const SafetensorsFile f = SafetensorsFile::parse(std::move(bytes), path);
  ModelFile m{std::move(hash), weights_sha256(f), load_model(f, given)};
  return files_.emplace(path, std::move(m)).first->second;
}

LoadedModel ModelFiles::copy(const std::string& path, const std::optional<GivenConfig>& given) {
  const LoadedModel& m = get(path, given).model;
  LoadedModel c{ViTParams(m.params.cfg), m.plan, m.metadata, m.config_source, m.packed_layers};
  std::copy(m.params.flat.data(), m.params.flat.data() + m.params.resident(), c.params.flat.data());
  return c;
}

}  // namespace bb
