// Values from timm's pretrained configs (timm/models/vision_transformer.py,
// deit.py; the default tag of each architecture):
//   deit_*          fb_in1k                224, crop 0.875, bicubic, IMAGENET_DEFAULT_MEAN/STD
//   deit3_*         fb_in1k                224, crop 1.0,   bicubic, IMAGENET_DEFAULT_MEAN/STD
//   vit_*_patch16   augreg(2)_in21k_ft_in1k 224, crop 0.9,  bicubic, IMAGENET_INCEPTION_MEAN/STD (0.5)
#include "datasets/timm_eval_settings.hpp"

namespace bb {
namespace {
constexpr std::array<double, 3> kImagenetMean = {0.485, 0.456, 0.406};
constexpr std::array<double, 3> kImagenetStd = {0.229, 0.224, 0.225};
constexpr std::array<double, 3> kInception = {0.5, 0.5, 0.5};
}  // namespace

const std::vector<TimmEvalSettings>& timm_eval_settings_table() {
  static const std::vector<TimmEvalSettings> table = {
      {"deit_tiny_patch16_224", "fb_in1k", 224, 0.875, "bicubic", kImagenetMean, kImagenetStd},
      {"deit_small_patch16_224", "fb_in1k", 224, 0.875, "bicubic", kImagenetMean, kImagenetStd},
      {"deit_base_patch16_224", "fb_in1k", 224, 0.875, "bicubic", kImagenetMean, kImagenetStd},
      {"deit_tiny_distilled_patch16_224", "fb_in1k", 224, 0.875, "bicubic", kImagenetMean, kImagenetStd},
      {"deit_small_distilled_patch16_224", "fb_in1k", 224, 0.875, "bicubic", kImagenetMean, kImagenetStd},
      {"deit_base_distilled_patch16_224", "fb_in1k", 224, 0.875, "bicubic", kImagenetMean, kImagenetStd},
      {"deit3_small_patch16_224", "fb_in1k", 224, 1.0, "bicubic", kImagenetMean, kImagenetStd},
      {"deit3_base_patch16_224", "fb_in1k", 224, 1.0, "bicubic", kImagenetMean, kImagenetStd},
      {"vit_tiny_patch16_224", "augreg_in21k_ft_in1k", 224, 0.9, "bicubic", kInception, kInception},
      {"vit_small_patch16_224", "augreg_in21k_ft_in1k", 224, 0.9, "bicubic", kInception, kInception},
      {"vit_base_patch16_224", "augreg2_in21k_ft_in1k", 224, 0.9, "bicubic", kInception, kInception},
  };
  return table;
}

const TimmEvalSettings* timm_eval_settings(const std::string& model) {
  // timm accepts "arch.tag"; the settings here are per architecture's default tag.
  const std::string arch = model.substr(0, model.find('.'));
  for (const auto& s : timm_eval_settings_table())
    if (arch == s.model) return &s;
  return nullptr;
}

}  // namespace bb
