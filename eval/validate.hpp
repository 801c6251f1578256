#pragma once
// `bitbench validate`'s work, modelled on timm's validate.py: open a model on
// a backend, evaluate it on a data set, and produce timm's result fields (plus
// bitbench's: backend, quant, kernel path, engine bytes). cli/ only reads flags.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataset_config.hpp"
#include "models/runnable_model.hpp"

namespace bb {

struct ValidateOptions {
  std::string checkpoint;
  std::string model_name;            // --model (a preset; also the result's "model")
  std::optional<GivenConfig> config;  // from --model / --model-config (refused where it contradicts the file)
  ModelBackend backend = ModelBackend::kOnednn;
  DataConfig data;                   // dataset + transform as given (unset fields: the data set's and model's)
  std::string split;                 // empty: the data set's evaluation split
  int batch_size = 256, workers = 1;
  int64_t limit = 0;
  bool first = false;                // limit: the first N images in file order, not a seeded subset
  bool keep_logits = false;
  double time_seconds = 1.0;         // the model's own speed: forward alone on a preloaded batch, this long, by
                                     // the meter at --threads (num_threads(), as the accuracy pass) (0: skip)
};

struct ValidateResult {
  nlohmann::ordered_json fields;  // the result fields, in timm's order then bitbench's
  std::vector<float> logits;      // [count, classes] when keep_logits (rank 0)
  int64_t count = 0;
  int classes = 0;
  double top1 = 0, top5 = 0, images_per_second = 0;
  double model_images_per_second = 0, timed_seconds = 0;  // the meter's (0: not timed)
  bool machine_busy = false;                               // other processes took CPU while it timed
  double other_cpu_cores = 0;
};

ValidateResult run_validation(const ValidateOptions& o);

// Fills the eval transform's unset fields (crop_pct 0, interpolation "",
// mean/std empty) from, first that has them: timm's pretrained settings for
// the named model (--model, else the checkpoint's metadata "model"), else the
// checkpoint's own transform (what bitbench trained it with), else nothing
// (resolve() then takes the data set's). Returns where they came from:
// "timm <arch>.<tag>", "checkpoint" or "data set".
std::string apply_model_eval_settings(TransformConfig& t, const std::string& model_name,
                                      const std::map<std::string, std::string>& meta, const std::string& path,
                                      int in_chans);

// The checkpoint's class names (metadata bitbench.class_names; empty when it
// has none), checked: an array of strings, one per class; Error naming the file otherwise.
std::vector<std::string> checkpoint_class_names(const std::map<std::string, std::string>& meta, const std::string& path,
                                                int num_classes);

// One header row and one value row, quoting cells with commas or quotes.
std::string result_fields_csv(const nlohmann::ordered_json& fields);

}  // namespace bb
