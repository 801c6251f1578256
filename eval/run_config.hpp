#pragma once
// The typed form of a bitbench config file. Every default lives in the member
// initialisers here and in the data-set preset table (datasets/presets.cpp);
// `bitbench config show` prints them resolved, docs/CONFIG.md explains each key.
#include <nlohmann/json.hpp>
#include <string>

#include "datasets/dataset_config.hpp"
#include "models/vit_config.hpp"
#include "train/train_config.hpp"

namespace bb {

struct LoaderConfig {
  int batch_size = 128;       // training batch
  int eval_batch_size = 256;  // evaluation batch
  int workers = 1;            // loader threads (0 = load in the compute thread)
  int prefetch = 2;           // batches in flight per worker
  int64_t limit_train = 0;    // 0 = all; else a fixed seeded subset
  int64_t limit_eval = 0;
};

struct RunConfig {
  std::string name = "default";
  uint64_t seed = 0;
  int threads = 0;  // compute threads; 0 = all cores
  DataConfig data;
  LoaderConfig loader;
  ViTConfig model;    // the teacher (section "model": a "preset" and/or ViT fields)
  TrainConfig train;  // its training recipe
};

// Reads and validates a config file; errors name the file and JSON path.
RunConfig load_run_config(const std::string& path);
RunConfig parse_run_config(const nlohmann::json& j, const std::string& file);
// Built-in defaults, resolved (the embedded default: Fashion-MNIST).
RunConfig default_run_config();
nlohmann::json to_json(const RunConfig& c);

}  // namespace bb
