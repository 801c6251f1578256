#include "models/safetensors.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "core/file_io.hpp"
#include "core/json_reader.hpp"

namespace bb {
namespace {

struct DTypeRow {
  DType d;
  const char* name;
  size_t size;
};
// The one table of dtypes: name in the header, bytes per element.
constexpr DTypeRow kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2}, {DType::F64, "F64", 8},
    {DType::U8, "U8", 1},   {DType::I8, "I8", 1},   {DType::I16, "I16", 2},   {DType::I32, "I32", 4},
    {DType::I64, "I64", 8}, {DType::BOOL, "BOOL", 1},
};

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

const char* dtype_name(DType d) {
  for (const auto& r : kDTypes)
    if (r.d == d) return r.name;
  return "?";
}
std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

size_t dtype_size(DType d) {
  for (const auto& r : kDTypes)
    if (r.d == d) return r.size;
  return 0;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::read(const std::string& path) {
  return parse(read_file_bytes(path, 64ull << 30), path);
}

namespace {

// What a file that is not safetensors looks like, by its first bytes, for the message.
std::string looks_like(const std::vector<uint8_t>& b) {
  auto starts = [&](std::string_view magic) {
    return b.size() >= magic.size() && std::memcmp(b.data(), magic.data(), magic.size()) == 0;
  };
  if (starts("\x89PNG\r\n\x1a\n")) return "a PNG image";
  if (starts("\xff\xd8\xff")) return "a JPEG image";
  if (starts("\x1f\x8b")) return "a gzip stream";
  if (starts("PK\x03\x04")) return "a zip archive (a PyTorch .pt/.pth? convert it to safetensors)";
  if (starts("\x93NUMPY")) return "a NumPy .npy array";
  if (starts("GGUF")) return "a GGUF file";
  if (!b.empty() && b[0] == 0x80 && b.size() > 1 && b[1] >= 2 && b[1] <= 5) return "a Python pickle (convert it to safetensors)";
  if (!b.empty() && (b[0] == '{' || b[0] == '[')) return "JSON text";
  return "";
}

}  // namespace

SafetensorsFile SafetensorsFile::parse(std::vector<uint8_t> bytes, const std::string& name) {
  SafetensorsFile f;
  f.path_ = name;
  if (bytes.size() < 8) throw Error::input_at(name, 0, "not a safetensors file: shorter than the 8-byte header length");
  // A safetensors header is JSON right after its 8-byte length: anything else
  // is another kind of file, named as such rather than by a nonsense length.
  if (bytes.size() > 8 && bytes[8] != '{') {
    const std::string kind = looks_like(bytes);
    throw Error::input_at(name, 8, "not a safetensors file" + (kind.empty() ? std::string(" (no JSON header after the 8-byte length)") : " (it looks like " + kind + ")"));
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<size_t>(i)];
  if (n > kMaxSafetensorsHeader)
    throw Error::input_at(name, 0, "header length " + std::to_string(n) + " above the limit of " +
                                       std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (n > bytes.size() - 8)
    throw Error::input_at(name, 0, "header length " + std::to_string(n) + " runs past the end of the " +
                                       std::to_string(bytes.size()) + "-byte file");
  if (n == 0 || bytes[8] != '{') throw Error::input_at(name, 8, "header does not start with '{'");
  std::string text(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(text, json_depth_limit(name, "header"));  // bounded as in parse_json_text
  } catch (const nlohmann::json::parse_error& e) {
    throw Error::input_at(name, 8 + e.byte, "header is not valid JSON");
  } catch (const nlohmann::json::exception& e) {  // a number beyond double, ...
    throw Error::input_at(name, 8, std::string("header is not valid JSON: ") + e.what());
  }
  if (!h.is_object()) throw Error::input_at(name, 8, "header is not a JSON object");
  f.data_start_ = 8 + static_cast<size_t>(n);
  const uint64_t data_size = bytes.size() - f.data_start_;

  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) throw Error::input(name, "__metadata__ is not an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw Error::input(name, "__metadata__/" + m.key() + " is not a string");
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return Error::input(name, "tensor " + key + ": " + what); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw bad("expected {dtype, shape, data_offsets}");
    TensorInfo t;
    t.name = key;
    if (!v["dtype"].is_string()) throw bad("dtype is not a string");
    std::string dt = v["dtype"].get<std::string>();
    bool known = false;
    for (const auto& r : kDTypes)
      if (dt == r.name) {
        t.dtype = r.d;
        known = true;
      }
    if (!known) throw bad("unknown dtype \"" + dt + "\"");
    if (!v["shape"].is_array() || v["shape"].size() > 8) throw bad("shape is not an array of at most 8 dimensions");
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw bad("shape holds " + describe_json(d) + ", expected non-negative integers");
      uint64_t x = d.get<uint64_t>();
      if (x != 0 && numel > (uint64_t{1} << 48) / x) throw bad("shape product overflows");
      numel *= x;
      t.shape.push_back(static_cast<int64_t>(x));
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw bad("data_offsets is not [begin, end]");
    t.begin = off[0].get<uint64_t>();
    t.end = off[1].get<uint64_t>();
    if (t.begin > t.end) throw bad("data_offsets begin after end");
    if (t.end > data_size)
      throw bad("data_offsets end " + std::to_string(t.end) + " lies past the data section of " +
                std::to_string(data_size) + " bytes");
    if (t.end - t.begin != numel * dtype_size(t.dtype))
      throw bad("holds " + std::to_string(t.end - t.begin) + " bytes, its dtype and shape need " +
                std::to_string(numel * dtype_size(t.dtype)));
    f.index_[key] = f.tensors_.size();
    f.tensors_.push_back(std::move(t));
  }
  // Offsets must tile the data section exactly: no overlaps, no holes.
  std::vector<const TensorInfo*> sorted;
  for (const auto& t : f.tensors_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  uint64_t at = 0;
  for (const TensorInfo* t : sorted) {
    if (t->begin < at) throw Error::input(name, "tensor " + t->name + " overlaps the tensor before it");
    if (t->begin > at) throw Error::input(name, "data section has a hole before tensor " + t->name);
    at = t->end;
  }
  if (at != data_size)
    throw Error::input(name, std::to_string(data_size - at) + " bytes after the last tensor are not indexed");
  f.bytes_ = std::move(bytes);
  // File order = order of the data (the header's JSON object order is not meaningful).
  std::sort(f.tensors_.begin(), f.tensors_.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_[f.tensors_[i].name] = i;
  return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::to_f32(const TensorInfo& t, float* out) const {
  const uint8_t* p = raw(t);
  const int64_t n = t.numel();
  switch (t.dtype) {
    case DType::F32:
      std::memcpy(out, p, static_cast<size_t>(n) * 4);
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint32_t bits = static_cast<uint32_t>(p[2 * i] | (p[2 * i + 1] << 8)) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
      return;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      return;
    default:
      throw Error::input(path_, std::string("tensor ") + t.name + " has dtype " + dtype_name(t.dtype) +
                                    ", expected a float type (F32, F16, BF16, F64)");
  }
}

std::vector<float> SafetensorsFile::to_f32(const TensorInfo& t) const {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  to_f32(t, v.data());
  return v;
}

std::vector<uint8_t> serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                           const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h;
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t at = 0;
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
    uint64_t bytes = n * dtype_size(t.dtype);
    h[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {at, at + bytes}}};
    at += bytes;
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');
  std::vector<uint8_t> out(8 + header.size() + at);
  uint64_t hn = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(hn >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  uint8_t* data = out.data() + 8 + header.size();
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
    size_t bytes = static_cast<size_t>(n * dtype_size(t.dtype));
    if (bytes) std::memcpy(data, t.data, bytes);
    data += bytes;
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

std::map<std::string, std::string> own_metadata(const std::map<std::string, std::string>& raw) {
  const std::string prefix = kOwnMetadataPrefix;
  std::map<std::string, std::string> own;
  for (const auto& [k, v] : raw)
    if (k.size() > prefix.size() && k.compare(0, prefix.size(), prefix) == 0) own.emplace(k.substr(prefix.size()), v);
  if (!own.empty()) return own;
  // A file from before the namespace: its "format" says it is bitbench's.
  auto f = raw.find("format");
  if (f != raw.end() && f->second.rfind("bitbench-", 0) == 0) return raw;
  return {};
}

std::map<std::string, std::string> namespaced_metadata(const std::map<std::string, std::string>& own) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : own) out.emplace(kOwnMetadataPrefix + k, v);
  return out;
}

std::map<std::string, std::string> SafetensorsFile::own_metadata() const { return bb::own_metadata(metadata_); }

std::string weights_sha256(const SafetensorsFile& f) {
  std::vector<const TensorInfo*> sorted;
  for (const auto& t : f.tensors()) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const TensorInfo* a, const TensorInfo* b) { return a->name < b->name; });
  Sha256 h;
  for (const TensorInfo* t : sorted) {
    std::string head = t->name + '\0' + dtype_name(t->dtype) + '\0';
    for (size_t i = 0; i < t->shape.size(); ++i) {
      if (i) head += ',';
      head += std::to_string(t->shape[i]);
    }
    head += '\0';
    h.update(head);
    h.update(f.raw(*t), t->end - t->begin);
  }
  return h.hex();
}

}  // namespace bb
