#pragma once
// report.json as typed records: eval/ fills them and serialises them, the
// renderers read their fields, so each key of the contract is spelled once
// (in report_record.cpp). The JSON's key order is the order of to_json.
//
// Optional members are the keys a report may lack: written only when set,
// and absent from older reports (schema 1 upgraded, or schema 2 written
// before the key existed). The latency parts stay opaque JSON for now (the
// latency meter's layout is being reworked).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bb {

struct BitsPerWeight {
  double nominal = 0;                                // the format's bits (W1.58A8 → 1.58; fp32 → 32)
  std::optional<double> quantized_layers_memory;     // as the backend holds the quantised weights
  std::optional<double> model_memory, model_disk;    // the whole model, per parameter
  bool operator==(const BitsPerWeight&) const = default;
};

struct WeightBytes {
  int64_t disk = 0, memory = 0;
  bool operator==(const WeightBytes&) const = default;
};

struct Accuracy {
  int64_t count = 0;
  double top1 = 0, top5 = 0;
  double macro_f1 = 0;                   // NaN when undefined (written as null)
  std::vector<double> per_class;         // percent; -1 for a class without images (NaN where null)
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  bool operator==(const Accuracy&) const = default;
};

struct Fidelity {
  double agreement = 0, kl_teacher = 0;  // to the teacher's predictions
  bool operator==(const Fidelity&) const = default;
};

// One model × backend under "models".
struct ModelEntry {
  std::string name, role, precision, backend, kernel_path, checkpoint;  // role: teacher, baseline, student
  int64_t params = 0, quantized_params = 0;
  BitsPerWeight bits_per_weight;
  WeightBytes weight_bytes;
  int64_t size_bytes = 0;  // on disk, or in memory for a model with no file of its own (PTQ)
  std::optional<int64_t> activation_bytes;
  std::optional<int64_t> model_peak_rss_bytes, process_rss_before_bytes, process_peak_rss_bytes;
  std::optional<std::string> peak_rss_scope;  // "this evaluation" or "process"
  Accuracy accuracy;
  std::optional<Fidelity> fidelity;  // not for the teacher
  std::optional<double> eval_seconds;
  std::optional<nlohmann::json> history;  // the training curve (absent in the eval stage's cached entry)
  // The latency meter's parts, opaque here (eval/latency*.cpp writes them).
  std::optional<nlohmann::ordered_json> latency, latency_per_rank, latency_merged;
  // Energy per image modelled from operation counts (eval/energy_model.hpp), and a
  // searched student's sensitivity record (eval/precision_search.hpp).
  std::optional<nlohmann::ordered_json> energy_model, search;
  nlohmann::ordered_json other = nlohmann::ordered_json::object();  // keys this record does not know, kept in order at the end
  bool operator==(const ModelEntry&) const = default;
};

struct DatasetRecord {
  std::string name, split;
  int64_t count = 0;  // images evaluated
  int64_t size = 0;   // images in the split
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  std::optional<nlohmann::ordered_json> class_map;  // {"source": ..., "mapping": ...}
  bool operator==(const DatasetRecord&) const = default;
};

struct RunRecord {
  std::string out_dir;
  bool quick = false, from_scratch = false;
  double seconds = 0;
  bool operator==(const RunRecord&) const = default;
};

// The whole report.json. The parts without a record of their own (config,
// environment, projection, stages, lineage, latency_protocol) are kept as JSON.
struct ReportRecord {
  int schema_version = 0;
  std::string name, created_utc;
  nlohmann::ordered_json config;
  std::string config_hash;
  RunRecord run;
  nlohmann::ordered_json environment;
  DatasetRecord dataset;
  std::vector<ModelEntry> models;
  nlohmann::ordered_json projection, stages;
  std::optional<nlohmann::ordered_json> latency_protocol, lineage;
  std::optional<nlohmann::ordered_json> vit_scale;  // the "at ViT scale" section (eval/vit_scale.hpp), when configured
  std::optional<nlohmann::ordered_json> energy_table;  // the constants every model's energy_model used
  bool operator==(const ReportRecord&) const = default;
};

// == compares every field (NaN figures compare unequal, as doubles do).

// One to_json/from_json pair each (nlohmann's ADL hooks). from_json throws
// nlohmann::json::exception naming the missing or mistyped key ("models[2].accuracy.top1").
void to_json(nlohmann::ordered_json& j, const BitsPerWeight& b);
void from_json(const nlohmann::ordered_json& j, BitsPerWeight& b);
void to_json(nlohmann::ordered_json& j, const Accuracy& a);
void from_json(const nlohmann::ordered_json& j, Accuracy& a);
void to_json(nlohmann::ordered_json& j, const ModelEntry& m);
void from_json(const nlohmann::ordered_json& j, ModelEntry& m);
void to_json(nlohmann::ordered_json& j, const DatasetRecord& d);
void from_json(const nlohmann::ordered_json& j, DatasetRecord& d);
void to_json(nlohmann::ordered_json& j, const RunRecord& r);
void from_json(const nlohmann::ordered_json& j, RunRecord& r);
void to_json(nlohmann::ordered_json& j, const ReportRecord& r);
void from_json(const nlohmann::ordered_json& j, ReportRecord& r);

}  // namespace bb
