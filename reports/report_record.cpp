#include "reports/report_record.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace bb {
namespace {

using J = nlohmann::ordered_json;

// A figure that may be null in report.json (NaN is written as null).
double number(const J& v) { return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN(); }

template <typename T>
void read_optional(const J& j, const char* key, std::optional<T>& out) {
  out.reset();
  auto it = j.find(key);
  if (it == j.end()) return;
  if constexpr (std::is_same_v<T, double>) out = number(*it);
  else out = it->template get<T>();
}

template <typename T>
void write_optional(J& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

// Reads part of a report, prefixing any error with where it is ("models[2]: key 'top1' not found").
template <typename T>
T part(const J& j, const std::string& where) {
  try {
    return j.get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(where + ": " + e.what());
  } catch (const std::invalid_argument& e) {  // from a part inside this one
    throw std::invalid_argument(where + ": " + e.what());
  }
}

// The keys ModelEntry reads; any other key of an entry (a latency part the
// meter adds) is carried through as it is, in ModelEntry::other.
constexpr std::string_view kModelKeys[] = {
    "name", "role", "precision", "backend", "kernel_path", "checkpoint", "params", "quantized_params", "bits_per_weight",
    "weight_bytes", "size_bytes", "activation_bytes", "model_peak_rss_bytes", "process_rss_before_bytes",
    "process_peak_rss_bytes", "peak_rss_scope", "accuracy", "fidelity", "eval_seconds", "history", "latency",
    "latency_per_rank", "latency_merged", "energy_model", "search"};

}  // namespace

void to_json(J& j, const BitsPerWeight& b) {
  j = J::object();
  j["nominal"] = b.nominal;
  write_optional(j, "quantized_layers_memory", b.quantized_layers_memory);
  write_optional(j, "model_memory", b.model_memory);
  write_optional(j, "model_disk", b.model_disk);
}

void from_json(const J& j, BitsPerWeight& b) {
  b.nominal = number(j.at("nominal"));
  read_optional(j, "quantized_layers_memory", b.quantized_layers_memory);
  read_optional(j, "model_memory", b.model_memory);
  read_optional(j, "model_disk", b.model_disk);
}

void to_json(J& j, const Accuracy& a) {
  j = J::object();
  j["count"] = a.count;
  j["top1"] = a.top1;
  j["top5"] = a.top5;
  j["macro_f1"] = a.macro_f1;
  j["per_class"] = a.per_class;
  j["confusion"] = a.confusion;
}

void from_json(const J& j, Accuracy& a) {
  a.count = j.at("count").get<int64_t>();
  a.top1 = number(j.at("top1"));
  a.top5 = number(j.at("top5"));
  a.macro_f1 = number(j.at("macro_f1"));
  a.per_class.clear();
  for (const J& v : j.at("per_class")) a.per_class.push_back(number(v));
  a.confusion = j.at("confusion").get<std::vector<std::vector<int64_t>>>();
}

void to_json(J& j, const ModelEntry& m) {
  j = J::object();
  j["name"] = m.name;
  j["role"] = m.role;
  j["precision"] = m.precision;
  j["backend"] = m.backend;
  j["kernel_path"] = m.kernel_path;
  j["checkpoint"] = m.checkpoint;
  j["params"] = m.params;
  j["quantized_params"] = m.quantized_params;
  j["bits_per_weight"] = m.bits_per_weight;
  j["weight_bytes"] = {{"disk", m.weight_bytes.disk}, {"memory", m.weight_bytes.memory}};
  j["size_bytes"] = m.size_bytes;
  write_optional(j, "activation_bytes", m.activation_bytes);
  write_optional(j, "model_peak_rss_bytes", m.model_peak_rss_bytes);
  write_optional(j, "process_rss_before_bytes", m.process_rss_before_bytes);
  write_optional(j, "process_peak_rss_bytes", m.process_peak_rss_bytes);
  write_optional(j, "peak_rss_scope", m.peak_rss_scope);
  j["accuracy"] = m.accuracy;
  if (m.fidelity) j["fidelity"] = {{"agreement", m.fidelity->agreement}, {"kl_teacher", m.fidelity->kl_teacher}};
  write_optional(j, "eval_seconds", m.eval_seconds);
  if (m.history) j["history"] = J(*m.history);
  write_optional(j, "latency", m.latency);
  write_optional(j, "latency_per_rank", m.latency_per_rank);
  write_optional(j, "latency_merged", m.latency_merged);
  write_optional(j, "energy_model", m.energy_model);
  write_optional(j, "search", m.search);
  for (const auto& [k, v] : m.other.items()) j[k] = v;
}

void from_json(const J& j, ModelEntry& m) {
  m.name = j.at("name").get<std::string>();
  m.role = j.at("role").get<std::string>();
  m.precision = j.at("precision").get<std::string>();
  m.backend = j.at("backend").get<std::string>();
  m.kernel_path = j.at("kernel_path").get<std::string>();
  m.checkpoint = j.at("checkpoint").get<std::string>();
  m.params = j.at("params").get<int64_t>();
  m.quantized_params = j.at("quantized_params").get<int64_t>();
  m.bits_per_weight = part<BitsPerWeight>(j.at("bits_per_weight"), "bits_per_weight");
  const J& wb = j.at("weight_bytes");
  m.weight_bytes = {wb.at("disk").get<int64_t>(), wb.at("memory").get<int64_t>()};
  m.size_bytes = j.at("size_bytes").get<int64_t>();
  read_optional(j, "activation_bytes", m.activation_bytes);
  read_optional(j, "model_peak_rss_bytes", m.model_peak_rss_bytes);
  read_optional(j, "process_rss_before_bytes", m.process_rss_before_bytes);
  read_optional(j, "process_peak_rss_bytes", m.process_peak_rss_bytes);
  read_optional(j, "peak_rss_scope", m.peak_rss_scope);
  m.accuracy = part<Accuracy>(j.at("accuracy"), "accuracy");
  m.fidelity.reset();
  if (auto f = j.find("fidelity"); f != j.end()) m.fidelity = Fidelity{number(f->at("agreement")), number(f->at("kl_teacher"))};
  read_optional(j, "eval_seconds", m.eval_seconds);
  m.history.reset();
  if (auto h = j.find("history"); h != j.end()) m.history = nlohmann::json(*h);
  read_optional(j, "latency", m.latency);
  read_optional(j, "latency_per_rank", m.latency_per_rank);
  read_optional(j, "latency_merged", m.latency_merged);
  read_optional(j, "energy_model", m.energy_model);
  read_optional(j, "search", m.search);
  m.other = J::object();
  for (const auto& [k, v] : j.items())
    if (std::find(std::begin(kModelKeys), std::end(kModelKeys), k) == std::end(kModelKeys)) m.other[k] = v;
}

void to_json(J& j, const DatasetRecord& d) {
  j = J::object();
  j["name"] = d.name;
  j["split"] = d.split;
  j["count"] = d.count;
  j["size"] = d.size;
  j["num_classes"] = d.num_classes;
  j["class_names"] = d.class_names;
  write_optional(j, "class_map", d.class_map);
}

void from_json(const J& j, DatasetRecord& d) {
  d.name = j.at("name").get<std::string>();
  d.split = j.at("split").get<std::string>();
  d.count = j.at("count").get<int64_t>();
  d.size = j.at("size").get<int64_t>();
  d.num_classes = j.at("num_classes").get<int64_t>();
  d.class_names.clear();  // a name may be null in a hand-edited report: "" (shown as the index)
  for (const J& n : j.at("class_names")) d.class_names.push_back(n.is_string() ? n.get<std::string>() : std::string());
  read_optional(j, "class_map", d.class_map);
}

void to_json(J& j, const RunRecord& r) {
  j = {{"out_dir", r.out_dir}, {"quick", r.quick}, {"from_scratch", r.from_scratch}, {"seconds", r.seconds}};
}

void from_json(const J& j, RunRecord& r) {
  r.out_dir = j.at("out_dir").get<std::string>();
  r.quick = j.at("quick").get<bool>();
  r.from_scratch = j.at("from_scratch").get<bool>();
  r.seconds = number(j.at("seconds"));
}

void to_json(J& j, const ReportRecord& r) {
  j = J::object();
  j["schema_version"] = r.schema_version;
  j["name"] = r.name;
  j["created_utc"] = r.created_utc;
  j["config"] = r.config;
  j["config_hash"] = r.config_hash;
  j["run"] = r.run;
  j["environment"] = r.environment;
  j["dataset"] = r.dataset;
  j["models"] = r.models;
  j["projection"] = r.projection;
  j["stages"] = r.stages;
  write_optional(j, "latency_protocol", r.latency_protocol);
  write_optional(j, "lineage", r.lineage);
  write_optional(j, "vit_scale", r.vit_scale);
  write_optional(j, "energy_table", r.energy_table);
}

void from_json(const J& j, ReportRecord& r) {
  r.schema_version = j.at("schema_version").get<int>();
  r.name = j.at("name").get<std::string>();
  r.created_utc = j.at("created_utc").get<std::string>();
  r.config = j.at("config");
  r.config_hash = j.at("config_hash").get<std::string>();
  r.run = part<RunRecord>(j.at("run"), "run");
  r.environment = j.at("environment");
  r.dataset = part<DatasetRecord>(j.at("dataset"), "dataset");
  r.models.clear();
  const J& models = j.at("models");
  for (size_t i = 0; i < models.size(); ++i) r.models.push_back(part<ModelEntry>(models[i], "models[" + std::to_string(i) + "]"));
  r.projection = j.at("projection");
  r.stages = j.at("stages");
  read_optional(j, "latency_protocol", r.latency_protocol);
  read_optional(j, "lineage", r.lineage);
  read_optional(j, "vit_scale", r.vit_scale);
  read_optional(j, "energy_table", r.energy_table);
}

}  // namespace bb
