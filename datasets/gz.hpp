#pragma once
// Reading a file that may be gzip-compressed (detected by its magic bytes, not
// its name), and writing gzip data for fixtures. Decompressed output is
// bounded so a small "gzip bomb" cannot exhaust memory.
#include <cstdint>
#include <string>
#include <vector>

namespace bb {

inline constexpr uint64_t kMaxDecompressedBytes = 4ull << 30;

// The file's bytes, gunzipped when it starts with 1f 8b. Errors name the file:
// missing, corrupt gzip data, truncated gzip stream, output above max_bytes.
std::vector<uint8_t> read_maybe_gz(const std::string& path, uint64_t max_bytes = kMaxDecompressedBytes);
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& name, uint64_t max_bytes);
std::vector<uint8_t> gzip(const std::vector<uint8_t>& in);

}  // namespace bb
