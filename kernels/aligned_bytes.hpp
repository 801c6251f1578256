#pragma once
// 64-byte aligned bytes (SIMD loads of whole vectors), grown on demand.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.hpp"

namespace bb {

class AlignedBytes {
 public:
  void resize(size_t n) {  // contents are not kept when it grows
    if (n <= cap_) {
      n_ = n;
      return;
    }
    const size_t bytes = (n + 63) / 64 * 64;
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
    if (!p) throw Error::usage("out of memory allocating " + std::to_string(bytes) + " bytes");
    p_.reset(p);
    n_ = n;
    cap_ = bytes;
  }
  uint8_t* data() { return p_.get(); }
  const uint8_t* data() const { return p_.get(); }
  size_t size() const { return n_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> p_;
  size_t n_ = 0, cap_ = 0;
};

}  // namespace bb
