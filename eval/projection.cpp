#include "eval/projection.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/quant_format.hpp"

namespace bb {
namespace {

// A transformer shape: the quantisable Linear weights of its blocks, their
// output rows (one fp32 scale each), and everything else (embeddings, norms,
// biases, head) that stays in floating point.
struct Shape {
  const char* name;
  int64_t quantized, rows, rest;
};

// timm VisionTransformer at 224² / patch P, 1000 classes: per block qkv, proj, fc1, fc2.
Shape vit(const char* name, int64_t D, int64_t depth, int64_t P) {
  const int64_t Hm = 4 * D, T = (224 / P) * (224 / P) + 1;
  const int64_t q = depth * (3 * D * D + D * D + D * Hm + Hm * D), rows = depth * (3 * D + D + Hm + D);
  const int64_t biases_norms = depth * (3 * D + D + Hm + D + 4 * D);
  const int64_t rest = 3 * P * P * D + D + D + T * D + biases_norms + 2 * D + D * 1000 + 1000;
  return {name, q, rows, rest};
}

// A LLaMA-7B-shaped decoder: 32 layers, d 4096, SwiGLU 11008, vocabulary 32000 (6.74 B parameters).
Shape llama7b() {
  const int64_t L = 32, D = 4096, F = 11008, V = 32000;
  return {"7B transformer (LLaMA-7B shape)", L * (4 * D * D + 3 * D * F), L * (4 * D + 2 * F + D), 2 * V * D + L * 2 * D + D};
}

struct Format {
  const char* name;  // as the report shows it
  double bits;       // per quantised weight
  bool scales;       // + one fp32 scale per output row
};

}  // namespace

nlohmann::ordered_json weight_memory_projection() {
  const std::vector<Format> formats = {
      {"fp32", 32, false},
      {"int8", weight_traits(WeightFormat::kInt8).storage_bits, true},
      {"W2", weight_traits(WeightFormat::kInt2).storage_bits, true},
      {"W1.58 (2-bit)", static_cast<double>(weight_traits(WeightFormat::kTernary).kernel_bits), true},  // the kernel layout
      {"W1.58 (base-3)", weight_traits(WeightFormat::kTernary).storage_bits, true},                     // the file
      {"W1", weight_traits(WeightFormat::kBinary).storage_bits, true},
  };
  const std::vector<Shape> shapes = {vit("ViT-Ti/16", 192, 12, 16), vit("ViT-S/16", 384, 12, 16), vit("ViT-B/16", 768, 12, 16),
                                     vit("ViT-L/16", 1024, 24, 16), vit("ViT-H/14", 1280, 32, 14), llama7b()};
  nlohmann::ordered_json j;
  j["note"] = "Block Linear weights at each format (+ one fp32 scale per output row); embeddings, norms, biases and "
              "head in fp32 (bytes) or fp16 (bytes_rest_fp16).";
  j["formats"] = nlohmann::ordered_json::array();
  for (const Format& f : formats) j["formats"].push_back({{"name", f.name}, {"bits_per_weight", f.bits}});
  j["models"] = nlohmann::ordered_json::array();
  for (const Shape& s : shapes) {
    nlohmann::ordered_json m, q, whole, half;
    m["name"] = s.name;
    m["params"] = s.quantized + s.rest;
    m["quantized_params"] = s.quantized;
    for (const Format& f : formats) {
      const double qb = static_cast<double>(s.quantized) * f.bits / 8 + (f.scales ? 4.0 * static_cast<double>(s.rows) : 0);
      q[f.name] = static_cast<int64_t>(qb);
      whole[f.name] = static_cast<int64_t>(qb + 4.0 * static_cast<double>(s.rest));
      half[f.name] = static_cast<int64_t>(qb + 2.0 * static_cast<double>(s.rest));
    }
    m["quantized_bytes"] = q;
    m["bytes"] = whole;
    m["bytes_rest_fp16"] = half;
    j["models"].push_back(m);
  }
  return j;
}

}  // namespace bb
