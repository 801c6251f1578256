#pragma once
// The main job's "at ViT scale" section (issue #34): every format of the
// ladder timed at real ViT shapes (DeiT-Tiny, -Small, -Base) on random
// weights — shape only: speed and memory, no accuracy. Each preset's models
// are opened at once and timed by the one meter (measure/meter.hpp) in
// interleaved rounds against the fp32 model at every batch size, at the run's
// thread count; each model's weights as held in memory beside the fp32 ones.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/model_backend.hpp"
#include "measure/meter.hpp"

namespace bb {

// One row per format the section times, in the order shown (the first is the
// reference every speed-up is taken against).
struct ScaleFormat {
  const char* name;     // as the report shows it
  const char* spec;     // the quant spec of every block Linear ("" = fp32)
  ModelBackend backend;
  bool integer;         // integer-only blocks (A8 attention, integer softmax and GELU)
};
const std::vector<ScaleFormat>& scale_formats();

struct ScaleProtocol {
  std::vector<std::string> presets;  // vit_preset names, e.g. "deit_base_patch16_224"
  std::vector<int> batches = {1, 64};
  RoundsOptions rounds;              // per point: every format in interleaved rounds
  uint64_t seed = 0;                 // weights and images
};

// {"label", "threads", "protocol": {...}, "seconds", "presets": [{"preset", "params", "tokens", "width", "depth",
//   "models": [{"format", "spec", "backend", "kernel_path", "weight_bytes", "weights_vs_fp32",
//               "points": [{"batch", "p50_ms", "images_per_s", "settled", "speedup_vs_fp32": {median, ci95, significant}}]}]}]}
// Progress on stderr when `progress`. Error(Usage) for an unknown preset.
nlohmann::ordered_json measure_vit_scale(const ScaleProtocol& p, bool progress);

}  // namespace bb
