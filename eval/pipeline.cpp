#include "eval/pipeline.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "core/comm.hpp"
#include "core/dir_lock.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/interrupt.hpp"
#include "core/json_reader.hpp"
#include "core/npy.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "core/version.hpp"
#include "datasets/class_map.hpp"
#include "datasets/dataset_config.hpp"
#include "eval/distill.hpp"
#include "eval/latency_sweep.hpp"
#include "eval/model_eval.hpp"
#include "eval/model_files.hpp"
#include "eval/rank_latency.hpp"
#include "eval/report_assembly.hpp"
#include "eval/teacher.hpp"
#include "eval/vit_scale.hpp"
#include "eval/energy_model.hpp"
#include "eval/validate.hpp"
#include "measure/environment.hpp"
#include "models/packed.hpp"
#include "models/safetensors.hpp"
#include "reports/report.hpp"

namespace bb {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }

nlohmann::json history_of(const std::map<std::string, std::string>& meta, const std::string& file) {
  auto it = meta.find("history");
  if (it == meta.end()) return nlohmann::json::array();
  return parse_json_text(it->second, file + " (metadata bitbench.history)");
}

bool uses_shipped_students(const BenchConfig& cfg, const RunOptions& o) {
  return !o.from_scratch && !o.distill && !cfg.student_checkpoints.empty();
}

std::optional<GivenConfig> given_teacher_config(const BenchConfig& cfg, const std::string& teacher) {
  if (!cfg.teacher_model || teacher != cfg.teacher_checkpoint) return std::nullopt;
  return GivenConfig(*cfg.teacher_model, "the config's /teacher/model");
}

class Pipeline {
 public:
  Pipeline(const BenchConfig& cfg, const RunOptions& o) : cfg_(cfg), o_(o), root_(comm::is_root()) {}

  RunOutcome run() {
    Timer total;
    preflight();
    // Under mpirun every rank runs every stage (training data parallel,
    // evaluation sharded, latency on its own cores); rank 0 alone writes.
    if (!o_.banner.empty() && root_) std::fprintf(stderr, "%s\n", o_.banner.c_str());
    if (root_)
      for (const std::string& w : warnings_) std::fprintf(stderr, "bitbench: warning: %s\n", w.c_str());
    std::optional<DirLock> lock;
    if (root_) {
      make_dirs(o_.out_dir);
      lock.emplace(o_.out_dir);  // one run per folder: stages are shared state
      make_dirs(stage_dir("eval"));
    }
    comm::barrier();
    apply_config_threads(cfg_.run.threads);  // the command line's --threads wins
    if (!teacher_stage()) return interrupted();
    if (!student_stage()) return interrupted();
    if (!eval_stage()) return interrupted();
    if (!scale_stage()) return interrupted();
    if (!root_) return {ojson(), false};  // rank 0 assembles and writes the report
    ojson report = assemble_report(cfg_, {o_.out_dir, o_.command_line, o_.quick, o_.from_scratch, total.seconds()},
                                   *ds_, models_, stages_);
    report["latency_protocol"] = latency_protocol_;
    report["dataset"]["class_map"] = class_map_.fields(*(raw_ds_ ? raw_ds_ : ds_));
    report["lineage"] = lineage_json();
    if (!vit_scale_.is_null()) report["vit_scale"] = vit_scale_;  // after lineage: the record's key order
    report["energy_table"] = energy_table_json();
    write_report_files(report, o_.out_dir);
    if (!o_.export_zoo.empty()) export_to_zoo(report);
    return {report, false};
  }

 private:
  // Everything a stage will read is checked before the run folder is made:
  // a missing file, a broken recipe or mixed lineages fail with nothing written.
  void preflight() { warnings_ = check_run_inputs(cfg_, o_, files_); }

  // A model file of this run, read and loaded once (files_): its hash, metadata, weights' identity and model.
  const ModelFile& file_of(const std::string& path) { return files_.get(path, given_teacher_config(cfg_, path)); }
  const std::string& hash_of(const std::string& path) { return file_of(path).hash; }

  std::string stage_dir(const std::string& name) const { return (fs::path(o_.out_dir) / "stages" / name).string(); }

  RunOutcome interrupted() {
    if (root_)
      std::fprintf(stderr, "bitbench: interrupted; run the same command again to resume (finished stages are kept in %s)\n",
                 (fs::path(o_.out_dir) / "stages").c_str());
    return {ojson(), true};
  }

  void note_stage(const std::string& stage, const std::string& status, const std::string& path, const std::string& key,
                  double seconds) {
    stages_.push_back({{"stage", stage}, {"status", status}, {"path", path}, {"key", key}, {"seconds", round_to(seconds, 0.01)}});
    if (o_.progress && root_) std::fprintf(stderr, "[%s] %s: %s\n", stage.c_str(), status.c_str(), path.c_str());
  }

  // ---- teacher: shipped, or trained (resumable) under stages/teacher-<hash>
  bool teacher_stage() {
    Timer t;
    if (!o_.from_scratch && !cfg_.teacher_checkpoint.empty()) {  // preflight() saw the file
      teacher_path_ = cfg_.teacher_checkpoint;
      // Its training curve, where the file carries one (the zoo's do), as the students' below.
      teacher_history_ = history_of(file_of(teacher_path_).model.metadata, teacher_path_);
      note_stage("teacher", "shipped", teacher_path_, hash_of(teacher_path_), t.seconds());
      return true;
    }
    RunConfig tc = load_run_config(cfg_.teacher_train);
    if (!o_.data_dir.empty()) tc.data.dataset.data_dir = o_.data_dir;
    if (o_.quick) quick_recipe(tc.train.epochs, tc.loader.limit_train, tc.loader.limit_eval);
    teacher_recipe_hash_ = teacher_recipe_hash(tc);
    const std::string key = teacher_recipe_hash_;
    const std::string dir = stage_dir("teacher-" + key), done = (fs::path(dir) / "done.json").string();
    if (fs::exists(done)) {
      teacher_path_ = parse_json_file(done).at("checkpoint").get<std::string>();
      teacher_history_ = read_history(dir);
      note_stage("teacher", "reused", teacher_path_, key, t.seconds());
      return true;
    }
    if (root_) make_dirs(dir);
    const bool resume = fs::exists(fs::path(dir) / "checkpoint.safetensors");
    TrainOutcome r = train_teacher(tc, dir, resume, o_.progress);
    if (r.interrupted) return false;
    teacher_path_ = r.final_path;
    teacher_history_ = read_history(dir);
    if (root_) write_file_atomic(done, nlohmann::json{{"checkpoint", teacher_path_}}.dump(2) + "\n");
    comm::barrier();
    note_stage("teacher", resume ? "trained (resumed)" : "trained", teacher_path_, key, t.seconds());
    return true;
  }

  static nlohmann::json read_history(const std::string& dir) {
    const fs::path h = fs::path(dir) / "history.json";
    return fs::exists(h) ? parse_json_file(h.string()) : nlohmann::json::array();
  }

  void quick_recipe(int& epochs, int64_t& limit_train, int64_t& limit_eval) const {
    epochs = 1;
    limit_train = limit_train ? std::min<int64_t>(limit_train, 2000) : 2000;
    limit_eval = limit_eval ? std::min<int64_t>(limit_eval, 500) : 500;
  }

  // ---- students: shipped packed files, or distilled (resumable) under stages/students-<hash>
  bool student_stage() {
    Timer t;
    if (uses_shipped_students(cfg_, o_)) {
      for (const auto& [name, path] : cfg_.student_checkpoints) {  // preflight() saw the files
        students_.push_back({name, path, history_of(file_of(path).model.metadata, path)});
        note_stage("student " + name, "shipped", path, hash_of(path), 0);
      }
      return true;
    }
    DistillRunConfig d = load_distill_config(cfg_.students_distill);
    d.teacher = teacher_path_;
    d.teacher_config = given_teacher_config(cfg_, teacher_path_);
    if (!o_.data_dir.empty()) d.run.data.dataset.data_dir = o_.data_dir;
    if (o_.quick) {
      quick_recipe(d.run.train.epochs, d.run.loader.limit_train, d.run.loader.limit_eval);
      for (auto& s : d.students) s.train.epochs = 1;
    }
    students_recipe_hash_ = students_recipe_hash(d);  // without the teacher's path: its identity is its content, below
    const std::string key = fnv1a_hex(students_recipe_hash_ + hash_of(teacher_path_));
    const std::string dir = stage_dir("students-" + key), done = (fs::path(dir) / "done.json").string();
    if (fs::exists(done)) {
      const nlohmann::json finished = parse_json_file(done);  // kept alive: the loop iterates into it
      for (const auto& s : finished.at("students"))
        students_.push_back({s.at("name").get<std::string>(), s.at("path").get<std::string>(), s.at("history")});
      note_stage("students", "reused", dir, key, t.seconds());
      return true;
    }
    if (root_) make_dirs(dir);
    DistillOutcome r = run_distillation(d, dir, /*resume=*/true, o_.progress);
    if (r.interrupted) return false;
    nlohmann::json list = nlohmann::json::array();
    for (const StudentResult& s : r.students) {
      students_.push_back({s.name, s.packed_path, s.history});
      list.push_back({{"name", s.name}, {"path", s.packed_path}, {"history", s.history}});
    }
    if (root_) write_file_atomic(done, nlohmann::json{{"students", list}}.dump(2) + "\n");
    comm::barrier();
    note_stage("students", "distilled", dir, key, t.seconds());
    return true;
  }

  struct Student {
    std::string name, path;
    nlohmann::json history;
  };

  // ---- evaluation of every model × backend (each cached under stages/eval)
  bool eval_stage() {
    raw_ds_ = open_dataset(cfg_.run.data.dataset, cfg_.run.data.dataset.eval_split);
    // Labels in the teacher's class indices (ImageFolder folders matched to its class names; students name the same).
    {
      const LoadedModel& t = file_of(teacher_path_).model;
      class_map_ = resolve_class_map(*raw_ds_, t.params.cfg.num_classes,
                                     checkpoint_class_names(t.metadata, teacher_path_, t.params.cfg.num_classes),
                                     cfg_.run.data.dataset.class_map, teacher_path_);
      if (class_map_.identity) ds_ = std::move(raw_ds_);
      else ds_ = std::make_unique<RelabeledDataset>(*raw_ds_, class_map_);
    }
    limit_ = cfg_.eval_limit;
    if (o_.quick) limit_ = limit_ ? std::min<int64_t>(limit_, 1000) : 1000;
    std::vector<ModelUnderTest> specs;
    // The shipped teacher's architecture from the config where its file states none.
    const std::optional<GivenConfig> given = given_teacher_config(cfg_, teacher_path_);
    specs.push_back({"teacher", "teacher", ModelBackend::kOnednn, teacher_path_, false, teacher_history_, given});
    if (cfg_.int8_ptq)
      specs.push_back({"teacher_w8a8_ptq", "baseline", ModelBackend::kOnednnInt8, teacher_path_, true, nlohmann::json::array(), given});
    for (const Student& s : students_)
      for (ModelBackend b : cfg_.backends_of(s.name)) specs.push_back({s.name, "student", b, s.path, false, s.history, std::nullopt});
    for (const ModelUnderTest& m : specs) {
      if (interrupt_requested()) return false;
      models_.push_back(evaluate_cached(m));
    }
    if (interrupt_requested()) return false;
    latency_stage(specs);
    return true;
  }

  // ---- latency: every model at once, in interleaved rounds with the teacher
  // (cached under stages/latency-<key>; the key holds what the figures depend
  // on: the models, the protocol, the CPU, ISA and kernel paths, the thread
  // counts the points are measured at — the sweep's, 0 resolved to the run's
  // --threads — and bitbench's revision).
  void latency_stage(const std::vector<ModelUnderTest>& specs) {
    Timer t;
    LatencyProtocol p;
    p.batches = cfg_.latency_batches;
    p.threads = cfg_.latency_threads;
    p.rounds = cfg_.latency;
    p.rounds.seed = static_cast<uint64_t>(cfg_.run.seed);
    p.budget_seconds = cfg_.latency_budget_seconds;
    if (o_.quick) {
      p.rounds.warmup = std::min(p.rounds.warmup, 1);
      p.rounds.rounds = 3;
      p.rounds.min_seconds = std::min(p.rounds.min_seconds, 0.1);
    }
    const nlohmann::ordered_json env = capture_environment("");
    nlohmann::json models = nlohmann::json::array();
    for (const ModelUnderTest& m : specs) models.push_back({m.name, model_backend_name(m.backend), m.ptq, hash_of(m.path)});
    const nlohmann::json key_in = {
        {"models", models},
        {"data", to_json(cfg_.run.data)},
        {"protocol", {p.batches, p.rounds.rounds, p.rounds.min_seconds, p.rounds.warmup, p.budget_seconds, p.rounds.seed}},
        {"cpu", env.value("cpu", "")},
        {"isa", env.value("isa", "")},
        {"bit_gemm_path", env.value("bit_gemm_path", "")},
        {"xnor_gemm_path", env.value("xnor_gemm_path", "")},
        {"threads", resolved_sweep_threads(p.threads)},
        {"ranks", comm::size()},
        {"bitbench", kGitRevision}};
    const std::string key = fnv1a_hex(key_in.dump());
    const std::string file = (fs::path(stage_dir("eval")) / ("latency-" + key + ".json")).string();
    ojson cached;
    if (fs::exists(file)) {
      cached = parse_json_file(file);
      cached["protocol"]["reused"] = true;
      note_stage("latency", "reused", file, key, t.seconds());
    } else {
      std::vector<std::unique_ptr<RunnableModel>> open;
      std::vector<RunnableModel*> ptrs;
      for (const ModelUnderTest& m : specs) {
        open.push_back(open_model_under_test(m, cfg_.run.data, *ds_, &files_));
        ptrs.push_back(open.back().get());
      }
      const LatencyMeasurement lm = measure_latency_sweep(ptrs, *ds_, cfg_.run.data, p);
      cached["protocol"] = protocol_json(lm, p);
      cached["protocol"]["measured_utc"] = utc_now();
      cached["protocol"]["reused"] = false;
      cached["models"] = ojson::array();
      for (size_t i = 0; i < specs.size(); ++i) {
        ojson m = {{"latency", latency_json(lm, i)}};
        if (comm::size() > 1) {  // every rank measured on its own cores: a collective per model
          const std::vector<RankLatency> ranks = gather_rank_latency(latency_stats(lm, i));
          m["latency_per_rank"] = per_rank_json(ranks);
          m["latency_merged"] = merged_json(ranks);
        }
        cached["models"].push_back(m);
      }
      if (lm.load.busy() && root_)
        std::fprintf(stderr,
                     "bitbench: warning: the machine was busy while timing (other processes took %.2f cores on "
                     "average, load %.2f -> %.2f); speed figures are less trustworthy\n",
                     lm.load.other_cores(), lm.load.load_before, lm.load.load_after);
      if (root_) write_file_atomic(file, cached.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      comm::barrier();
      note_stage("latency", "measured", file, key, t.seconds());
    }
    latency_protocol_ = cached["protocol"];
    for (size_t i = 0; i < specs.size() && i < models_.size(); ++i)
      for (const auto& [k, v] : cached["models"][i].items()) models_[i][k] = v;
  }

  // ---- at ViT scale: the ladder's formats timed at real ViT shapes on random
  // weights (eval/vit_scale.hpp; cached under stages/eval/scale-<key>.json, the
  // key holding the protocol, the CPU, its kernel paths, the thread count and
  // bitbench's revision). --quick times the first preset only, briefly.
  bool scale_stage() {
    if (cfg_.scale_presets.empty() || interrupt_requested()) return !interrupt_requested();
    Timer t;
    ScaleProtocol p;
    p.presets = cfg_.scale_presets;
    p.batches = cfg_.scale_batches;
    p.rounds = cfg_.scale_rounds;
    p.seed = static_cast<uint64_t>(cfg_.run.seed);
    if (o_.quick) {
      p.presets.resize(1);
      p.rounds.warmup = std::min(p.rounds.warmup, 1);
      p.rounds.min_seconds = std::min(p.rounds.min_seconds, 0.05);
    }
    const nlohmann::ordered_json env = capture_environment("");
    const nlohmann::json key_in = {{"presets", p.presets},
                                   {"protocol", {p.batches, p.rounds.rounds, p.rounds.min_seconds, p.rounds.warmup, p.seed}},
                                   {"cpu", env.value("cpu", "")},
                                   {"isa", env.value("isa", "")},
                                   {"bit_gemm_path", env.value("bit_gemm_path", "")},
                                   {"xnor_gemm_path", env.value("xnor_gemm_path", "")},
                                   {"threads", num_threads()},
                                   {"ranks", comm::size()},
                                   {"bitbench", kGitRevision}};
    const std::string key = fnv1a_hex(key_in.dump());
    const std::string file = (fs::path(stage_dir("eval")) / ("scale-" + key + ".json")).string();
    if (fs::exists(file)) {
      vit_scale_ = parse_json_file(file);
      vit_scale_["reused"] = true;
      note_stage("scale", "reused", file, key, t.seconds());
      return true;
    }
    vit_scale_ = measure_vit_scale(p, o_.progress && root_);
    vit_scale_["measured_utc"] = utc_now();
    vit_scale_["reused"] = false;
    if (root_) write_file_atomic(file, vit_scale_.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    comm::barrier();
    note_stage("scale", "measured", file, key, t.seconds());
    return true;
  }

  ojson evaluate_cached(const ModelUnderTest& m) {
    Timer t;
    nlohmann::json key_in = {{"name", m.name},   {"role", m.role},   {"backend", model_backend_name(m.backend)},       {"ptq", m.ptq},
                             {"file", hash_of(m.path)}, {"teacher", hash_of(teacher_path_)}, {"limit", limit_},
                             {"data", to_json(cfg_.run.data)}, {"threads", num_threads()},
                             {"bitbench", kGitRevision}, {"report_schema", kReportSchemaVersion}};
    // Only when set, so that the entries of runs without them keep their keys.
    if (m.given_config) key_in["given_config"] = to_json(m.given_config->config);
    if (!class_map_.identity) key_in["class_map"] = class_map_.to_model;
    const std::string key = fnv1a_hex(key_in.dump());
    const std::string label = m.name + "/" + model_backend_name(m.backend);
    const fs::path base = fs::path(stage_dir("eval")) / (m.name + "__" + model_backend_name(m.backend) + "-" + key);
    const std::string entry_file = base.string() + ".json", logits_file = base.string() + ".logits.npy";
    if (fs::exists(entry_file) && (m.role != "teacher" || fs::exists(logits_file))) {
      if (m.role == "teacher") teacher_logits_ = read_npy(logits_file).data;
      note_stage("eval " + label, "reused", entry_file, key, t.seconds());
      ojson e = parse_json_file(entry_file);
      e["history"] = m.history;
      return e;
    }
    std::vector<float> logits;
    const ModelEvalContext ctx{&cfg_, ds_.get(), limit_, &teacher_logits_, &files_};
    ojson e = evaluate_model(m, ctx, logits);
    if (root_) {  // the others hold no logits (gathered on rank 0) and a partial entry
      if (m.role == "teacher") {
        teacher_logits_ = logits;
        write_npy(logits_file, {static_cast<int64_t>(logits.size()) / ds_->num_classes(), ds_->num_classes()}, logits.data());
      }
      write_file_atomic(entry_file, e.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }
    comm::barrier();
    note_stage("eval " + label, "measured", entry_file, key, t.seconds());
    e["history"] = m.history;
    return e;
  }

  // Which teacher each student was distilled from, by weight identity (the
  // students' own record): the Δ top-1 column compares a student with this teacher.
  ojson lineage_json() {
    ojson l;
    l["teacher_weights_sha256"] = file_of(teacher_path_).weights_sha256;
    l["students"] = ojson::object();
    for (const Student& s : students_) {
      const auto& meta = file_of(s.path).model.metadata;
      auto it = meta.find("teacher_sha256");
      l["students"][s.name] = {{"teacher_sha256", it == meta.end() ? ojson(nullptr) : ojson(it->second)},
                               {"same_teacher", it == meta.end() ? ojson(nullptr) : ojson(it->second == l["teacher_weights_sha256"])}};
    }
    return l;
  }

  // Copies the checkpoints this run trained into the zoo folder, tagged.
  // preflight() allows it only with --from-scratch, so both were trained (or reused from training stages).
  void export_to_zoo(const ojson& report) {
    make_dirs(o_.export_zoo);
    std::vector<ZooEntry> entries;
    entries.push_back({teacher_path_, (fs::path(o_.export_zoo) / (cfg_.run.name + "_teacher.safetensors")).string(),
                       "teacher", ModelBackend::kOnednn, teacher_recipe_hash_, teacher_history_});
    for (const Student& s : students_)
      entries.push_back({s.path, (fs::path(o_.export_zoo) / (s.name + ".packed.safetensors")).string(), s.name,
                         ModelBackend::kBitKernels, students_recipe_hash_, s.history});
    export_zoo(entries, cfg_.run.name, cfg_.run.data, report);
  }

  const BenchConfig& cfg_;
  const RunOptions& o_;
  const bool root_;  // rank 0 (or the only process): the one that writes
  std::string teacher_path_;
  nlohmann::json teacher_history_ = nlohmann::json::array();
  std::string teacher_recipe_hash_, students_recipe_hash_;
  std::vector<Student> students_;
  std::unique_ptr<Dataset> raw_ds_, ds_;  // ds_: raw_ds_ seen through class_map_ (or raw_ds_ itself)
  ClassMap class_map_;
  std::vector<std::string> warnings_;
  int64_t limit_ = 0;
  ojson latency_protocol_;
  ojson vit_scale_;  // null unless the config has "scale" presets
  std::vector<float> teacher_logits_;
  ojson models_ = ojson::array(), stages_ = ojson::array();
  ModelFiles files_;  // every model file read once per run
};

}  // namespace

RunOutcome run_benchmark(const BenchConfig& cfg, const RunOptions& o) { return Pipeline(cfg, o).run(); }

std::vector<std::string> check_run_inputs(const BenchConfig& cfg, const RunOptions& o) {
  ModelFiles files;
  return check_run_inputs(cfg, o, files);
}

std::vector<std::string> check_run_inputs(const BenchConfig& cfg, const RunOptions& o, ModelFiles& files) {
  std::vector<std::string> warnings;
  const bool train_teacher = o.from_scratch || cfg.teacher_checkpoint.empty();
  const ModelFile* teacher = nullptr;
  if (train_teacher) {
    if (cfg.teacher_train.empty())
      throw Error::usage("the config ships no teacher checkpoint and names no /teacher/train recipe to train one");
    load_run_config(cfg.teacher_train);
  } else if (!path_exists(cfg.teacher_checkpoint)) {
    throw Error::input(cfg.teacher_checkpoint, "teacher checkpoint not found (or run with --from-scratch to train one)");
  } else {
    // A truncated or lying file fails here, before the run folder exists.
    teacher = &files.get(cfg.teacher_checkpoint, given_teacher_config(cfg, cfg.teacher_checkpoint));
    if (teacher->model.plan)
      throw Error::input(cfg.teacher_checkpoint, "is a quantised student (" + teacher->model.quant_name() +
                                                     "), not a full-precision teacher: its students' gaps would be to a student");
  }
  if (!uses_shipped_students(cfg, o)) {
    if (cfg.students_distill.empty())
      throw Error::usage(o.distill ? "--distill needs a /students/distill recipe in the config"
                                   : "the config ships no student checkpoints and names no /students/distill recipe");
    load_distill_config(cfg.students_distill);
  } else {
    const std::string teacher_sha = teacher ? teacher->weights_sha256 : "";
    const int K = teacher ? teacher->model.params.cfg.num_classes : 0;
    const std::vector<std::string> teacher_names =
        teacher ? checkpoint_class_names(teacher->model.metadata, cfg.teacher_checkpoint, K) : std::vector<std::string>{};
    for (const auto& [name, path] : cfg.student_checkpoints) {
      if (!path_exists(path)) throw Error::input(path, "student checkpoint not found (or run with --from-scratch to distill it)");
      const LoadedModel& s = files.get(path).model;
      if (!teacher) continue;  // trained in this run: nothing shipped to compare with
      // A student compared with a teacher it was not distilled from gives a
      // Δ top-1 between two lineages: refused unless re-distilled.
      auto rec = s.metadata.find("teacher_sha256");
      if (rec == s.metadata.end()) {
        warnings.push_back(path + " records no teacher (no bitbench.teacher_sha256: distilled before bitbench recorded "
                                  "lineage); its gap assumes it was distilled from " + cfg.teacher_checkpoint);
      } else if (rec->second != teacher_sha) {
        throw Error::usage(path + " was distilled from the teacher whose weights hash to " + rec->second.substr(0, 16) +
                           "..., not from " + cfg.teacher_checkpoint + " (" + teacher_sha.substr(0, 16) +
                           "...): its gap to this teacher would mix two lineages; pass --distill to distil the "
                           "config's students from this teacher, or name students distilled from it");
      }
      const std::vector<std::string> names = checkpoint_class_names(s.metadata, path, s.params.cfg.num_classes);
      if (!names.empty() && !teacher_names.empty() && names != teacher_names)
        throw Error::input(path, "names other classes than its teacher " + cfg.teacher_checkpoint +
                                     " (bitbench.class_names differ)");
    }
  }
  open_dataset(cfg.run.data.dataset, cfg.run.data.dataset.eval_split);
  if (!o.export_zoo.empty() && !o.from_scratch)
    throw Error::usage("--export-zoo needs --from-scratch (the zoo holds what this run trains)");
  return warnings;
}

}  // namespace bb
