#include "eval/stage_cache.hpp"

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "core/file_io.hpp"

namespace bb {

std::string fnv1a_hex(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

std::string file_hash(const std::string& path) {
  const std::vector<uint8_t> b = read_file_bytes(path);
  return fnv1a_hex(std::string(b.begin(), b.end()));
}

const std::string& FileHashes::of(const std::string& path) {
  auto it = hashes_.find(path);
  if (it == hashes_.end()) it = hashes_.emplace(path, file_hash(path)).first;
  return it->second;
}

}  // namespace bb
