#pragma once
// A student's packed export: `<name>.packed.safetensors`. Every Linear the
// quant plan quantises is stored as its integer codes, packed row by row in
// its weight format's file storage (kernels/quant_format.hpp; U8 [N, row_bytes]), plus its
// scales ("<weight name>.scale", F32 [N] per row or [1] per matrix); all other
// tensors stay F32 under their timm names. __metadata__ holds (namespaced
// "bitbench.<key>") "format" ("bitbench-packed"), "config", "quant" (the
// plan), "packing" (per packed tensor: format name and logical [N, K] shape)
// and the caller's keys (class names, data set, transform, recipe).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/checkpoint.hpp"
#include "models/quant.hpp"
#include "models/vit_params.hpp"

namespace bb {

void write_packed_student(const std::string& path, const ViTParams& p, const QuantPlan& plan,
                          const std::map<std::string, std::string>& extra_metadata = {});

struct PackedLayer {
  std::string name;            // timm weight name
  WeightFormat format;         // its row says how the file stores it (storage)
  int64_t N = 0, K = 0;
  std::vector<int8_t> codes;   // [N, K] unpacked
  std::vector<float> scales;   // [N] or [1]
};

struct PackedStudent {
  ViTParams params;  // fp32 tensors as stored; packed weights dequantised (codes · scale)
  QuantPlan plan;    // with weights_quantized set: the forward uses these weights as they are
  std::vector<PackedLayer> layers;
  std::map<std::string, std::string> metadata;
  int64_t packed_bytes = 0;  // bytes of packed codes + scales in the file
  int64_t fp32_bytes = 0;    // bytes of the tensors left in fp32
};

// Reads and checks a packed file (names, shapes, byte counts); Error(Input) naming the file otherwise.
PackedStudent read_packed_student(const std::string& path);
PackedStudent read_packed_student(const SafetensorsFile& f);

// Any model file bitbench runs: a teacher / fp32 checkpoint, a student's
// latent weights (quant plan in metadata: the fake-quant forward), or a packed
// student (dequantised codes). config: as load_vit (ignored for packed files).
struct LoadedModel {
  ViTParams params;
  std::optional<QuantPlan> plan;  // set for students
  std::map<std::string, std::string> metadata;
  std::string config_source;      // "argument", "metadata", "inferred (...)" or "packed"
  std::vector<PackedLayer> packed_layers;  // a packed file's codes (the integer engine runs them as stored)
  std::string quant_name() const { return plan ? plan->spec.name() : "FP32"; }
  const QuantPlan* plan_ptr() const { return plan ? &*plan : nullptr; }
};
LoadedModel load_model(const std::string& path, const std::optional<GivenConfig>& given = std::nullopt);
LoadedModel load_model(const SafetensorsFile& f, const std::optional<GivenConfig>& given = std::nullopt);

}  // namespace bb
