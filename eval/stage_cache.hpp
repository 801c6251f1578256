#pragma once
// What `bitbench run`'s stage cache is keyed on: content hashes. A stage's
// folder or file is named by the hash of everything it reads, so an unchanged
// input reuses it and any change makes a new one.
#include <cstddef>
#include <cstdint>
#include <string>

namespace bb {

// 64-bit FNV-1a of bytes, as 16 hex digits (stage keys, file identities).
std::string fnv1a_hex(const std::string& bytes);
std::string fnv1a_hex(const uint8_t* bytes, size_t n);
std::string file_hash(const std::string& path);

}  // namespace bb
