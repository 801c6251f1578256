#pragma once
// Reads JSON config objects into typed structs with errors that name the file
// and the JSON path: `configs/x.json: /dataset/crop_pct: expected number in
// (0, 1], got "big"`. Every getter leaves the caller's default in place when the
// key is absent; finish() refuses keys nobody asked for.
#include <nlohmann/json.hpp>

#include <initializer_list>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace bb {

struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  bool contains(double v) const;
  std::string str() const;  // "(0, 1]"
};

// Configs, safetensors headers and metadata nest a few levels; deeper input is
// refused as it is parsed.
inline constexpr int kMaxJsonDepth = 64;

// The parser callback that enforces kMaxJsonDepth: Error(Input) naming `name`
// and `what` (e.g. "header") when the input nests deeper.
nlohmann::json::parser_callback_t json_depth_limit(const std::string& name, const std::string& what = "invalid JSON");

// Parses a JSON file; syntax errors name the file and byte offset.
nlohmann::json parse_json_file(const std::string& path);
nlohmann::json parse_json_text(const std::string& text, const std::string& name);

class JsonReader {
 public:
  // Refuses a node that is not an object.
  JsonReader(const nlohmann::json& node, std::string file, std::string path = "");

  bool has(const char* key) const;
  void read(const char* key, bool& out);
  void read(const char* key, int& out, int lo, int hi);
  void read(const char* key, int64_t& out, int64_t lo, int64_t hi);
  void read(const char* key, uint64_t& out);
  void read(const char* key, double& out, Range range = {});
  void read(const char* key, std::string& out);
  void read_enum(const char* key, std::string& out, std::initializer_list<const char*> allowed);
  // A fixed-or-bounded-length array of numbers, each inside range.
  void read(const char* key, std::vector<double>& out, size_t min_len, size_t max_len, Range range = {});
  // Child object; absent key -> reader over an empty object (all defaults).
  JsonReader object(const char* key);
  // The raw value of a key the caller validates itself (null when absent); marks it known.
  const nlohmann::json* raw(const char* key) { return take(key); }
  // Unknown keys -> one error listing them and the keys that are known.
  void finish() const;

  std::string path_of(const char* key) const { return path_ + "/" + key; }
  Error error(const char* key, const std::string& message) const;
  const std::string& file() const { return file_; }

 private:
  const nlohmann::json* take(const char* key);
  Error type_error(const char* key, const std::string& expected, const nlohmann::json& got) const;
  const nlohmann::json& node_;
  std::string file_, path_;
  std::set<std::string> known_;
};

// `"big"`, `12`, `[1, 2]`: the offending value for an error message, cut short.
std::string describe_json(const nlohmann::json& v);

}  // namespace bb
