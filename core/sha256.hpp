#pragma once
// SHA-256 (FIPS 180-4), for content identities another tool can recompute
// (`hashlib.sha256` in Python): a student's record of the teacher it was
// distilled from. Not used where speed matters.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bb {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t fill_ = 0;
  uint64_t bytes_ = 0;
};

inline std::string sha256_hex(std::string_view s) {
  Sha256 h;
  h.update(s);
  return h.hex();
}

}  // namespace bb
