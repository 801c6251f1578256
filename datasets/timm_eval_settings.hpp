#pragma once
// timm's pretrained eval settings, one row per ImageNet model bitbench knows:
// what timm's pretrained_cfg says for its default tag (input size, crop_pct,
// interpolation, mean, std; crop mode center). `validate` takes them when the
// model is named (--model, or a checkpoint's metadata "bitbench.model"), so a
// timm checkpoint is evaluated as timm evaluates it.
#include <array>
#include <string>
#include <vector>

namespace bb {

struct TimmEvalSettings {
  const char* model;       // timm's architecture name, e.g. "deit_tiny_patch16_224"
  const char* tag;         // the pretrained tag these settings are for, e.g. "fb_in1k"
  int img_size;
  double crop_pct;
  const char* interpolation;
  std::array<double, 3> mean, std;
};

// nullptr when timm has no pretrained config bitbench knows for `model`.
const TimmEvalSettings* timm_eval_settings(const std::string& model);
const std::vector<TimmEvalSettings>& timm_eval_settings_table();

}  // namespace bb
