#pragma once
// safetensors: 8-byte little-endian header length N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian data the offsets index (relative to its start).
// The header is validated before anything in it is trusted: size bound, JSON
// object, known dtypes, shapes whose product fits, offsets inside the data,
// byte counts = dtype size × elements, no overlaps and no holes.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bb {

inline constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;

enum class DType { F32, F16, BF16, F64, U8, I8, I16, I32, I64, BOOL };
const char* dtype_name(DType d);
// "[3, 224, 224]"
std::string shape_str(const std::vector<int64_t>& shape);
size_t dtype_size(DType d);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // offsets into the data section
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Reads and validates; errors name the file (and byte offset where useful).
  static SafetensorsFile read(const std::string& path);
  static SafetensorsFile parse(std::vector<uint8_t> bytes, const std::string& name);

  const std::string& path() const { return path_; }
  // Every key of __metadata__, as written (bitbench's and anyone else's).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // bitbench's own keys, without their namespace (see own_metadata below).
  std::map<std::string, std::string> own_metadata() const;
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file order
  const TensorInfo* find(const std::string& name) const;
  // Converted to fp32 (F32, F16, BF16, F64); other dtypes are refused naming the tensor.
  std::vector<float> to_f32(const TensorInfo& t) const;
  void to_f32(const TensorInfo& t, float* out) const;
  // Raw bytes of a tensor (for packed U8 codes).
  const uint8_t* raw(const TensorInfo& t) const { return bytes_.data() + data_start_ + t.begin; }
  uint64_t data_bytes() const { return bytes_.size() - data_start_; }

 private:
  std::string path_;
  std::vector<uint8_t> bytes_;
  size_t data_start_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
};

// The identity of a file's weights, independent of its metadata and of the
// order it stores tensors in (a tool that re-saves the file keeps it): SHA-256
// over the tensors sorted by name, each as `name \0 dtype \0 dims joined by ","
// \0` then its raw little-endian bytes (docs/MODELS.md, "Lineage"; Python's
// hashlib gives the same digest). A student records its teacher's.
std::string weights_sha256(const SafetensorsFile& f);

// bitbench writes its metadata keys as "bitbench.<key>" ("bitbench.config",
// "bitbench.quant", ...) so that a file carrying other tools' keys (a PyTorch
// export's "format" or "config" of another schema) is never misread: keys
// outside the namespace are someone else's and ignored. Files written before
// the namespace (unprefixed keys, "format": "bitbench-*", as the shipped zoo
// was) still load: their keys are taken as bitbench's.
inline constexpr char kOwnMetadataPrefix[] = "bitbench.";
std::map<std::string, std::string> own_metadata(const std::map<std::string, std::string>& raw);
std::map<std::string, std::string> namespaced_metadata(const std::map<std::string, std::string>& own);

// One tensor to write: fp32 data (or raw bytes for U8 and other integer types).
struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  const void* data = nullptr;  // numel × dtype_size bytes
};

// Serialises (tensors in the given order, header padded to 8 bytes) and writes atomically.
std::vector<uint8_t> serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                           const std::map<std::string, std::string>& metadata);
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace bb
