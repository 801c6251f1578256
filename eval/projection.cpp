#include "eval/projection.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/quant_format.hpp"

namespace bb {
namespace {

// A transformer shape: the quantisable Linear weights of its blocks, their
// matrices and output rows (one fp32 scale each, by the format's scale rule),
// and everything else (embeddings, norms, biases, head) that stays in floating point.
struct Shape {
  const char* name;
  int64_t quantized, matrices, rows, rest;
};

// timm VisionTransformer at 224² / patch P, 1000 classes: per block qkv, proj, fc1, fc2.
Shape vit(const char* name, int64_t D, int64_t depth, int64_t P) {
  const int64_t Hm = 4 * D, T = (224 / P) * (224 / P) + 1;
  const int64_t q = depth * (3 * D * D + D * D + D * Hm + Hm * D), rows = depth * (3 * D + D + Hm + D);
  const int64_t biases_norms = depth * (3 * D + D + Hm + D + 4 * D);
  const int64_t rest = 3 * P * P * D + D + D + T * D + biases_norms + 2 * D + D * 1000 + 1000;
  return {name, q, 4 * depth, rows, rest};
}

// A LLaMA-7B-shaped decoder: 32 layers, d 4096, SwiGLU 11008, vocabulary 32000 (6.74 B parameters).
Shape llama7b() {
  const int64_t L = 32, D = 4096, F = 11008, V = 32000;
  return {"7B transformer (LLaMA-7B shape)", L * (4 * D * D + 3 * D * F), 7 * L, L * (4 * D + 2 * F + D),
          2 * V * D + L * 2 * D + D};
}

struct Format {
  std::string name;  // as the report shows it
  double bits;       // per quantised weight
  bool per_row;      // one fp32 scale per output row, else one per matrix (fp32: none)
  bool scales;
};

// Every row of the weight-format table at its file's bits, and again at its
// kernel layout's where that differs (ternary: base 3 in the file, 2 bits in
// memory); most bits first.
std::vector<Format> table_formats() {
  std::vector<Format> out;
  for (const WeightFormatTraits& t : weight_format_rows()) {
    if (!*t.token) {
      out.push_back({t.name, t.storage_bits, false, false});
      continue;
    }
    const std::string name = std::string("W") + t.token;
    out.push_back({name, t.storage_bits, t.per_row, true});
    if (t.kernel_bits != t.storage_bits)
      out.push_back({name + " (" + std::to_string(t.kernel_bits) + "-bit kernel layout)", double(t.kernel_bits), t.per_row, true});
  }
  std::stable_sort(out.begin(), out.end(), [](const Format& a, const Format& b) { return a.bits > b.bits; });
  return out;
}

}  // namespace

nlohmann::ordered_json weight_memory_projection() {
  const std::vector<Format> formats = table_formats();
  const std::vector<Shape> shapes = {vit("ViT-Ti/16", 192, 12, 16), vit("ViT-S/16", 384, 12, 16), vit("ViT-B/16", 768, 12, 16),
                                     vit("ViT-L/16", 1024, 24, 16), vit("ViT-H/14", 1280, 32, 14), llama7b()};
  nlohmann::ordered_json j;
  std::string per_matrix;
  for (const Format& f : formats)
    if (f.scales && !f.per_row && f.name.find(' ') == std::string::npos) per_matrix += (per_matrix.empty() ? "" : ", ") + f.name;
  j["note"] = "Block Linear weights at each format of the format table (+ its fp32 scales: one per matrix for " + per_matrix +
              ", else one per output row); embeddings, norms, biases and head in fp32 (bytes) or fp16 (bytes_rest_fp16).";
  j["formats"] = nlohmann::ordered_json::array();
  for (const Format& f : formats) j["formats"].push_back({{"name", f.name}, {"bits_per_weight", f.bits}});
  j["models"] = nlohmann::ordered_json::array();
  for (const Shape& s : shapes) {
    nlohmann::ordered_json m, q, whole, half;
    m["name"] = s.name;
    m["params"] = s.quantized + s.rest;
    m["quantized_params"] = s.quantized;
    for (const Format& f : formats) {
      const int64_t scales = f.scales ? (f.per_row ? s.rows : s.matrices) : 0;
      const double qb = static_cast<double>(s.quantized) * f.bits / 8 + 4.0 * static_cast<double>(scales);
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
