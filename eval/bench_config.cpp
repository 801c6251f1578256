#include "eval/bench_config.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace bb {
namespace fs = std::filesystem;
namespace {

std::string relative_to(const std::string& file, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(file).parent_path() / p).lexically_normal().string();
}

std::vector<int> read_int_list(const nlohmann::json& j, const std::string& file, const std::string& path, int lo, int hi) {
  if (!j.is_array() || j.empty()) throw Error::config(file, path, "must be a non-empty array of integers");
  std::vector<int> out;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number_integer() || j[i].get<int64_t>() < lo || j[i].get<int64_t>() > hi)
      throw Error::config(file, path + "/" + std::to_string(i),
                          "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                              describe_json(j[i]));
    out.push_back(j[i].get<int>());
  }
  return out;
}

// The "students" section: their recipe, shipped files and backends.
void read_students(JsonReader s, const std::string& file, BenchConfig& c) {
  s.read("distill", c.students_distill);
  if (const nlohmann::json* p = s.raw("checkpoints")) {
    const auto& ck = *p;
    if (!ck.is_object()) throw Error::config(file, "/students/checkpoints", "must be an object of name: file");
    for (auto& [name, v] : ck.items()) {
      if (!v.is_string()) throw Error::config(file, "/students/checkpoints/" + name, "must be a file name, got " + describe_json(v));
      c.student_checkpoints[name] = relative_to(file, v.get<std::string>());
    }
  }
  // A list of backends a student runs on, at path.
  const auto read_backends = [&](const nlohmann::json& b, const std::string& path) {
    if (!b.is_array() || b.empty()) throw Error::config(file, path, "must be a non-empty array");
    std::vector<ModelBackend> out;
    for (size_t i = 0; i < b.size(); ++i) {
      const std::string at = path + "/" + std::to_string(i);
      if (!b[i].is_string()) throw Error::config(file, at, "must be a string, got " + describe_json(b[i]));
      const std::string v = b[i].get<std::string>();
      const auto rows = model_backends();
      const auto found = std::find_if(rows.begin(), rows.end(), [&](const ModelBackendRow& row) { return row.student_run && v == row.name; });
      if (found == rows.end())
        throw Error::config(file, at, "\"" + v + "\" is not one of " + model_backend_names(/*student_run_only=*/true));
      out.push_back(found->backend);
    }
    return out;
  };
  if (const nlohmann::json* p = s.raw("backends")) c.student_backends = read_backends(*p, "/students/backends");
  if (const nlohmann::json* p = s.raw("backends_of")) {
    if (!p->is_object()) throw Error::config(file, "/students/backends_of", "must be an object of student name: [backends]");
    for (const auto& [name, v] : p->items()) c.student_backends_of[name] = read_backends(v, "/students/backends_of/" + name);
  }
  s.finish();
  for (const auto& [name, list] : c.student_backends_of)
    if (!c.student_checkpoints.empty() && !c.student_checkpoints.count(name))
      throw Error::config(file, "/students/backends_of/" + name, "names no student of /students/checkpoints");
  if (c.students_distill.empty() && c.student_checkpoints.empty())
    throw Error::config(file, "/students", "needs a \"distill\" config or \"checkpoints\"");
}

}  // namespace

bool is_bench_config(const nlohmann::json& j) { return j.is_object() && j.contains("teacher") && j["teacher"].is_object(); }

BenchConfig parse_bench_config(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw Error::config(file, "", "must be a JSON object");
  nlohmann::json rest = j, own = nlohmann::json::object();
  for (const char* k : {"teacher", "students", "baselines", "eval", "latency", "scale"})
    if (rest.contains(k)) {
      own[k] = rest[k];
      rest.erase(k);
    }
  BenchConfig c;
  c.run = parse_run_config(rest, file);
  JsonReader r(own, file);
  {
    JsonReader t = r.object("teacher");
    t.read("checkpoint", c.teacher_checkpoint);
    t.read("train", c.teacher_train);
    if (const nlohmann::json* m = t.raw("model")) {
      c.teacher_model_json = *m;
      if (m->is_string()) {
        try {
          c.teacher_model = vit_preset(m->get<std::string>());
        } catch (const Error& e) {
          throw Error::config(file, "/teacher/model", e.message());
        }
      } else if (m->is_object()) {
        JsonReader mr(*m, file, "/teacher/model");
        c.teacher_model = read_vit_config(mr);
      } else {
        throw Error::config(file, "/teacher/model", "must be a preset name or an object of ViT config fields, got " + describe_json(*m));
      }
    }
    t.finish();
    if (c.teacher_checkpoint.empty() && c.teacher_train.empty())
      throw Error::config(file, "/teacher", "needs a \"checkpoint\" or a \"train\" config");
  }
  read_students(r.object("students"), file, c);
  {
    JsonReader b = r.object("baselines");
    b.read("int8_ptq", c.int8_ptq);
    b.finish();
  }
  {
    JsonReader e = r.object("eval");
    e.read("limit", c.eval_limit, 0, INT64_MAX);
    e.finish();
  }
  {
    JsonReader l = r.object("latency");
    if (const nlohmann::json* p = l.raw("batch_sizes")) c.latency_batches = read_int_list(*p, file, "/latency/batch_sizes", 1, 4096);
    if (const nlohmann::json* p = l.raw("threads")) c.latency_threads = read_int_list(*p, file, "/latency/threads", 0, 1024);
    for (const char* gone : {"min_runs", "max_seconds", "settle"})
      if (l.raw(gone))
        throw Error::input(file, std::string("/latency/") + gone +
                                     ": latency is measured in interleaved rounds now; use rounds, min_seconds and "
                                     "budget_seconds (docs/CONFIG.md)");
    l.read("warmup", c.latency.warmup, 0, 1000);
    l.read("rounds", c.latency.rounds, 3, 1000);
    l.read("min_seconds", c.latency.min_seconds, Range{0.0, 3600.0});
    l.read("budget_seconds", c.latency_budget_seconds, Range{0.0, 86400.0});
    l.finish();
  }
  {
    JsonReader s = r.object("scale");
    if (const nlohmann::json* p = s.raw("presets")) {
      if (!p->is_array()) throw Error::config(file, "/scale/presets", "must be a list of model presets");
      for (size_t i = 0; i < p->size(); ++i) {
        const std::string at = "/scale/presets/" + std::to_string(i);
        if (!(*p)[i].is_string()) throw Error::config(file, at, "must be a preset name (e.g. \"deit_base_patch16_224\")");
        try {
          vit_preset((*p)[i].get<std::string>());
        } catch (const Error& e) {
          throw Error::config(file, at, e.message());
        }
        c.scale_presets.push_back((*p)[i].get<std::string>());
      }
    }
    if (const nlohmann::json* p = s.raw("batch_sizes")) c.scale_batches = read_int_list(*p, file, "/scale/batch_sizes", 1, 4096);
    s.read("warmup", c.scale_rounds.warmup, 0, 1000);
    s.read("rounds", c.scale_rounds.rounds, 3, 1000);
    s.read("min_seconds", c.scale_rounds.min_seconds, Range{0.0, 3600.0});
    s.finish();
  }
  r.finish();
  c.teacher_checkpoint = relative_to(file, c.teacher_checkpoint);
  c.teacher_train = relative_to(file, c.teacher_train);
  c.students_distill = relative_to(file, c.students_distill);
  return c;
}

BenchConfig load_bench_config(const std::string& path) { return parse_bench_config(parse_json_file(path), path); }

nlohmann::json to_json(const BenchConfig& c) {
  nlohmann::json j = to_json(c.run);
  j.erase("model");
  j.erase("train");
  std::vector<std::string> backends;
  for (ModelBackend b : c.student_backends) backends.push_back(model_backend_name(b));
  nlohmann::json backends_of = nlohmann::json::object();
  for (const auto& [name, list] : c.student_backends_of)
    for (ModelBackend b : list) backends_of[name].push_back(model_backend_name(b));
  j["teacher"] = {{"checkpoint", c.teacher_checkpoint}, {"train", c.teacher_train}};
  if (c.teacher_model) j["teacher"]["model"] = c.teacher_model_json;  // only when set: older configs keep their hashes
  j["students"] = {{"distill", c.students_distill}, {"checkpoints", c.student_checkpoints}, {"backends", backends}};
  if (!c.student_backends_of.empty()) j["students"]["backends_of"] = backends_of;  // only when set: other configs' hashes stay
  j["baselines"] = {{"int8_ptq", c.int8_ptq}};
  j["eval"] = {{"limit", c.eval_limit}};
  j["latency"] = {{"batch_sizes", c.latency_batches}, {"threads", c.latency_threads}, {"warmup", c.latency.warmup},
                  {"rounds", c.latency.rounds},           {"min_seconds", c.latency.min_seconds},
                  {"budget_seconds", c.latency_budget_seconds}};
  if (!c.scale_presets.empty())  // only when set: configs without it keep their hashes
    j["scale"] = {{"presets", c.scale_presets}, {"batch_sizes", c.scale_batches}, {"warmup", c.scale_rounds.warmup},
                  {"rounds", c.scale_rounds.rounds}, {"min_seconds", c.scale_rounds.min_seconds}};
  return j;
}

}  // namespace bb
