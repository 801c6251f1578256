#include "core/json_reader.hpp"

#include <cmath>
#include <sstream>

#include "core/file_io.hpp"

namespace bb {
namespace {
const nlohmann::json& empty_object() {
  static const nlohmann::json e = nlohmann::json::object();
  return e;
}
std::string num(double v) {
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  std::ostringstream s;
  s << v;
  return s.str();
}
}  // namespace

bool Range::contains(double v) const {
  if (std::isnan(v)) return false;
  if (lo_open ? !(v > lo) : !(v >= lo)) return false;
  if (hi_open ? !(v < hi) : !(v <= hi)) return false;
  return true;
}

std::string Range::str() const {
  return std::string(lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]");
}

std::string describe_json(const nlohmann::json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

nlohmann::json::parser_callback_t json_depth_limit(const std::string& name, const std::string& what) {
  return [name, what](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxJsonDepth)
      throw Error::input(name, what + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return true;
  };
}

nlohmann::json parse_json_text(const std::string& text, const std::string& name) {
  // Nesting is bounded while parsing: nlohmann's dump() (used in messages and
  // hashes) recurses once per level, and 100 000 nested arrays overflowed the
  // stack (tests/hostile/config/deep_nesting.json).
  try {
    return nlohmann::json::parse(text, json_depth_limit(name));
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    auto pos = what.find("parse error");
    throw Error::input_at(name, e.byte, "invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos)));
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number beyond double (found by fuzz_config)
    std::string what = e.what();
    auto pos = what.find(']');
    throw Error::input(name, "invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
  }
}

nlohmann::json parse_json_file(const std::string& path) {
  return parse_json_text(read_file_text(path, 64ull << 20), path);
}

JsonReader::JsonReader(const nlohmann::json& node, std::string file, std::string path)
    : node_(node), file_(std::move(file)), path_(std::move(path)) {
  if (!node_.is_object())
    throw Error::config(file_, path_.empty() ? "/" : path_, "expected an object, got " + describe_json(node_));
}

Error JsonReader::error(const char* key, const std::string& message) const {
  return Error::config(file_, path_of(key), message);
}

Error JsonReader::type_error(const char* key, const std::string& expected, const nlohmann::json& got) const {
  return error(key, "expected " + expected + ", got " + describe_json(got));
}

bool JsonReader::has(const char* key) const { return node_.contains(key); }

const nlohmann::json* JsonReader::take(const char* key) {
  known_.insert(key);
  auto it = node_.find(key);
  return it == node_.end() ? nullptr : &*it;
}

void JsonReader::read(const char* key, bool& out) {
  if (auto* v = take(key)) {
    if (!v->is_boolean()) throw type_error(key, "true or false", *v);
    out = v->get<bool>();
  }
}

void JsonReader::read(const char* key, int64_t& out, int64_t lo, int64_t hi) {
  if (auto* v = take(key)) {
    std::string expected = "integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v->is_number_integer()) throw type_error(key, expected, *v);
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      throw type_error(key, expected, *v);
    int64_t x = v->get<int64_t>();
    if (x < lo || x > hi) throw type_error(key, expected, *v);
    out = x;
  }
}

void JsonReader::read(const char* key, int& out, int lo, int hi) {
  int64_t x = out;
  read(key, x, lo, hi);
  out = static_cast<int>(x);
}

void JsonReader::read(const char* key, uint64_t& out) {
  if (auto* v = take(key)) {
    if (!v->is_number_unsigned()) throw type_error(key, "non-negative integer", *v);
    out = v->get<uint64_t>();
  }
}

void JsonReader::read(const char* key, double& out, Range range) {
  if (auto* v = take(key)) {
    std::string expected = "number in " + range.str();
    if (!v->is_number()) throw type_error(key, expected, *v);
    double x = v->get<double>();
    if (!range.contains(x)) throw type_error(key, expected, *v);
    out = x;
  }
}

void JsonReader::read(const char* key, std::string& out) {
  if (auto* v = take(key)) {
    if (!v->is_string()) throw type_error(key, "string", *v);
    out = v->get<std::string>();
  }
}

void JsonReader::read_enum(const char* key, std::string& out, std::initializer_list<const char*> allowed) {
  std::string expected = "one of";
  for (const char* a : allowed) expected += std::string(" \"") + a + "\"";
  if (auto* v = take(key)) {
    if (!v->is_string()) throw type_error(key, expected, *v);
    std::string s = v->get<std::string>();
    for (const char* a : allowed)
      if (s == a) {
        out = s;
        return;
      }
    throw type_error(key, expected, *v);
  }
}

void JsonReader::read(const char* key, std::vector<double>& out, size_t min_len, size_t max_len, Range range) {
  if (auto* v = take(key)) {
    std::string len = min_len == max_len ? std::to_string(min_len)
                                         : std::to_string(min_len) + " to " + std::to_string(max_len);
    std::string expected = "array of " + len + " numbers in " + range.str();
    if (!v->is_array() || v->size() < min_len || v->size() > max_len) throw type_error(key, expected, *v);
    std::vector<double> r;
    for (size_t i = 0; i < v->size(); ++i) {
      const auto& e = (*v)[i];
      if (!e.is_number() || !range.contains(e.get<double>()))
        throw Error::config(file_, path_of(key) + "/" + std::to_string(i),
                            "expected number in " + range.str() + ", got " + describe_json(e));
      r.push_back(e.get<double>());
    }
    out = std::move(r);
  }
}

JsonReader JsonReader::object(const char* key) {
  const nlohmann::json* v = take(key);
  return JsonReader(v ? *v : empty_object(), file_, path_of(key));
}

void JsonReader::finish() const {
  std::vector<std::string> unknown;
  for (auto it = node_.begin(); it != node_.end(); ++it)
    if (!known_.count(it.key())) unknown.push_back(it.key());
  if (unknown.empty()) return;
  std::string known;
  for (const auto& k : known_) known += (known.empty() ? "" : ", ") + k;
  std::string msg = "unknown key (";
  if (unknown.size() > 1) {
    msg += "also unknown:";
    for (size_t i = 1; i < unknown.size(); ++i) msg += " \"" + unknown[i] + "\"";
    msg += "; ";
  }
  throw Error::config(file_, path_ + "/" + unknown[0], msg + "known here: " + known + ")");
}

}  // namespace bb
