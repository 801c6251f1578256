#include "eval/distill_config.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "models/int_engine.hpp"
#include "models/vit_config.hpp"

namespace bb {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

DistillConfig read_distill_section(JsonReader r, DistillConfig d) {
  r.read_enum("kind", d.kind, {"soft", "hard", "none"});
  r.read("alpha", d.alpha, Range{0, 1});
  r.read("temperature", d.temperature, Range{0, 100, true, false});
  r.read("hidden_mse", d.hidden_mse, Range{0, 1e6});
  r.read("attn_mse", d.attn_mse, Range{0, 1e6});
  r.finish();
  return d;
}

nlohmann::json to_json(const DistillConfig& d) {
  nlohmann::json j = {{"kind", d.kind}, {"alpha", d.alpha}, {"temperature", d.temperature}, {"hidden_mse", d.hidden_mse}};
  if (d.attn_mse > 0) j["attn_mse"] = d.attn_mse;  // only when on: earlier recipes (and their hashes) stay as they were
  return j;
}

StudentConfig read_student(const nlohmann::json& node, const std::string& file, const std::string& path,
                           const TrainConfig& train, const DistillConfig& distill) {
  JsonReader r(node, file, path);
  StudentConfig s;
  s.train = train;
  s.distill = distill;
  r.read("name", s.name);
  r.read("init", s.init);
  r.read("from", s.from);
  r.object("quant");
  s.quant.json = node.contains("quant") ? node["quant"] : nlohmann::json::object();
  static_cast<QuantPlanJson&>(s.quant) = read_quant_plan_json(s.quant.json, file, path + "/quant");
  {
    s.model = node.contains("model") ? node["model"] : nlohmann::json::object();
    JsonReader m = r.object("model");
    const ViTConfig c = read_vit_config(m, vit_preset("vit_fmnist_tiny_patch4_28"));  // types and unknown keys, before any training
    if (c.attn_prob_scale && s.quant.base.attn_pv == ActFormat::kF32)
      throw Error::config(file, path + "/model/attn_prob_scale",
                          "scales the step of quantised attention probabilities: set quant.attn_pv too");
  }
  {
    r.object("train");  // the student's keys over the file's default recipe
    nlohmann::json j = to_json(train);
    if (node.contains("train")) {
      if (!node["train"].is_object()) throw Error::config(file, path + "/train", "must be an object");
      for (const auto& [k, v] : node["train"].items()) j[k] = v;
    }
    JsonReader tj(j, file, path + "/train");
    s.train = read_train_config(tj);
  }
  if (node.contains("distill")) s.distill = read_distill_section(r.object("distill"), distill);
  else r.object("distill");
  if (const nlohmann::json* search = r.raw("search")) {
    s.search = read_search_config(*search, file, path + "/search");
    if (!int_engine_supports(s.quant.base.spec))
      throw Error::config(file, path + "/quant/spec",
                          "a searched student's start spec must run on the integer kernels (quantised weights and "
                          "activations, e.g. W8A8), not " + s.quant.base.spec.name());
    if (!s.quant.blocks.empty())
      throw Error::config(file, path + "/quant/blocks",
                          "a searched student starts every block Linear at quant.spec: the search sets the blocks");
    for (size_t i = 0; i < s.search->ladder.size(); ++i)
      if (s.search->ladder[i] == s.quant.base.spec)
        throw Error::config(file, path + "/search/ladder/" + std::to_string(i),
                            s.quant.base.spec.name() + " is the start (quant.spec): the ladder lists the rungs below it");
  }
  r.finish();
  if (s.name.empty()) s.name = "student_" + lower(s.quant.base.spec.name());
  return s;
}

}  // namespace

DistillRunConfig parse_distill_config(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw Error::config(file, "", "must be a JSON object");
  nlohmann::json rest = j, own = nlohmann::json::object();
  for (const char* k : {"teacher", "distill", "students"})
    if (rest.contains(k)) {
      own[k] = rest[k];
      rest.erase(k);
    }
  DistillRunConfig c;
  c.run = parse_run_config(rest, file);
  const nlohmann::json students = own.contains("students") ? own["students"] : nlohmann::json();
  own.erase("students");
  JsonReader r(own, file);
  c.teacher = "runs/fashion_mnist_teacher/teacher/teacher.safetensors";
  r.read("teacher", c.teacher);
  c.distill = read_distill_section(r.object("distill"), DistillConfig{});
  if (!students.is_array() || students.empty())
    throw Error::config(file, "/students", "needs a non-empty array of students");
  std::set<std::string> names;
  for (size_t i = 0; i < students.size(); ++i) {
    const std::string at = "/students/" + std::to_string(i);
    StudentConfig s = read_student(students[i], file, at, c.run.train, c.distill);
    if (names.count(s.name)) throw Error::config(file, at + "/name", "\"" + s.name + "\" is used twice");
    if (s.from != "teacher" && !names.count(s.from))
      throw Error::config(file, at + "/from", "\"" + s.from + "\" is not an earlier student");
    if (s.init != "teacher" && s.init != "scratch" && !names.count(s.init))
      throw Error::config(file, at + "/init", "\"" + s.init + "\" is neither teacher, scratch nor an earlier student");
    names.insert(s.name);
    c.students.push_back(std::move(s));
  }
  r.finish();
  return c;
}

bool is_distill_config(const nlohmann::json& j) { return j.is_object() && j.contains("students"); }

DistillRunConfig load_distill_config(const std::string& path) { return parse_distill_config(parse_json_file(path), path); }

void select_students(DistillRunConfig& c, const std::vector<std::string>& names) {
  std::set<std::string> keep;
  std::function<void(const std::string&)> need = [&](const std::string& name) {
    if (name == "teacher" || name == "scratch" || !keep.insert(name).second) return;
    for (const StudentConfig& s : c.students)
      if (s.name == name) {
        need(s.from);
        need(s.init);
        return;
      }
  };
  for (const std::string& n : names) {
    const bool known = std::any_of(c.students.begin(), c.students.end(), [&](const StudentConfig& s) { return s.name == n; });
    if (!known) {
      std::string all;
      for (const StudentConfig& s : c.students) all += (all.empty() ? "" : ", ") + s.name;
      throw Error::usage("no student named \"" + n + "\" in the config (its students: " + all + ")");
    }
    need(n);
  }
  std::erase_if(c.students, [&](const StudentConfig& s) { return !keep.count(s.name); });
}

nlohmann::json to_json(const DistillRunConfig& c) {
  nlohmann::json j = to_json(c.run);
  j.erase("model");
  j["teacher"] = c.teacher;
  j["distill"] = to_json(c.distill);
  j["students"] = nlohmann::json::array();
  for (const auto& s : c.students)
  {
    j["students"].push_back({{"name", s.name}, {"quant", s.quant.json}, {"model", s.model}, {"init", s.init},
                             {"from", s.from}, {"train", to_json(s.train)}, {"distill", to_json(s.distill)}});
    if (s.search) j["students"].back()["search"] = to_json(*s.search);  // only when set: other recipes' hashes stay
  }
  return j;
}

}  // namespace bb
