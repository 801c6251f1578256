#pragma once
// What `bitbench run`'s stage cache is keyed on: content hashes. A stage's
// folder or file is named by the hash of everything it reads, so an unchanged
// input reuses it and any change makes a new one.
#include <map>
#include <string>

namespace bb {

// 64-bit FNV-1a of bytes, as 16 hex digits (stage keys, file identities).
std::string fnv1a_hex(const std::string& bytes);
std::string file_hash(const std::string& path);

// file_hash, read once per path for the life of the object (a run names the teacher in several keys).
class FileHashes {
 public:
  const std::string& of(const std::string& path);

 private:
  std::map<std::string, std::string> hashes_;
};

}  // namespace bb
