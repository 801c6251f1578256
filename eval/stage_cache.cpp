#include "eval/stage_cache.hpp"

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "core/file_io.hpp"

namespace bb {

std::string fnv1a_hex(const std::string& bytes) {
  return fnv1a_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::string fnv1a_hex(const uint8_t* bytes, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= bytes[i];
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

std::string file_hash(const std::string& path) {
  const std::vector<uint8_t> b = read_file_bytes(path);
  return fnv1a_hex(b.data(), b.size());
}

}  // namespace bb
