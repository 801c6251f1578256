#include "eval/pipeline.hpp"

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

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
#include "datasets/dataset_config.hpp"
#include "datasets/loader.hpp"
#include "eval/distill.hpp"
#include "eval/environment.hpp"
#include "eval/evaluator.hpp"
#include "eval/metrics.hpp"
#include "eval/projection.hpp"
#include "eval/teacher.hpp"
#include "kernels/backend.hpp"
#include "models/int_engine.hpp"
#include "models/packed.hpp"
#include "models/safetensors.hpp"
#include "models/vit.hpp"
#include "reports/report.hpp"

namespace bb {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

std::string fnv1a_hex(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

std::string file_hash(const std::string& path) {
  const std::vector<uint8_t> b = read_file_bytes(path);
  return fnv1a_hex(std::string(b.begin(), b.end()));
}

namespace {

// One model × backend the run evaluates.
struct ModelSpec {
  std::string name, role, backend, path;  // role: teacher, baseline, student
  bool ptq = false;                       // the teacher quantised W8A8 after training
  nlohmann::json history = nlohmann::json::array();
};

double round_to(double v, double step) { return std::round(v / step) * step; }

// "W1.58A8" → 1.58, "FP32" → 32.
double nominal_weight_bits(const std::string& precision) {
  if (precision.size() > 1 && precision[0] == 'W') {
    const size_t a = precision.find('A');
    return std::stod(precision.substr(1, a == std::string::npos ? std::string::npos : a - 1));
  }
  return 32;
}

std::string host_name() {
  char buf[256] = "";
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// "0-1" style list of the CPUs this process may run on (a pinned rank's own).
std::string affinity_list() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return "";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) {
      if (!out.empty()) out += ',';
      out += std::to_string(c);
    }
  return out;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json history_of(const std::map<std::string, std::string>& meta, const std::string& file) {
  auto it = meta.find("history");
  if (it == meta.end()) return nlohmann::json::array();
  return parse_json_text(it->second, file + " (__metadata__.history)");
}

// Images for the latency runs: the first `batch` of the eval split (cycled when it is shorter).
Tensor latency_input(const Dataset& ds, const DataConfig& dc, int batch, int C, int S) {
  LoaderOptions lo;
  lo.batch_size = batch;
  lo.workers = 0;
  lo.limit = std::min<int64_t>(batch, static_cast<int64_t>(ds.size()));
  Loader loader(ds, dc.transform, dc.augment, lo);
  loader.start_epoch(0);
  const Batch* b = loader.next();
  Tensor x(Shape{batch, C, S, S});
  const int64_t per = static_cast<int64_t>(C) * S * S, have = b ? b->size() : 0;
  if (have == 0) throw Error::input(ds.source(), "no images to time");
  for (int64_t i = 0; i < batch; ++i)
    std::copy(b->images.data() + (i % have) * per, b->images.data() + (i % have + 1) * per, x.data() + i * per);
  return x;
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
    std::optional<DirLock> lock;
    if (root_) {
      make_dirs(o_.out_dir);
      lock.emplace(o_.out_dir);  // one run per folder: stages are shared state
      make_dirs(stage_dir("eval"));
    }
    comm::barrier();
    set_num_threads(cfg_.run.threads);
    if (!teacher_stage()) return interrupted();
    if (!student_stage()) return interrupted();
    if (!eval_stage()) return interrupted();
    if (!root_) return {ojson(), false};  // rank 0 assembles and writes the report
    ojson report = assemble(total.seconds());
    write_report_files(report, o_.out_dir);
    if (!o_.export_zoo.empty()) export_zoo(report);
    return {report, false};
  }

 private:
  // Everything a stage will read is checked before the run folder is made:
  // a missing file or a broken recipe fails with nothing written.
  void preflight() const {
    const bool train_teacher = o_.from_scratch || cfg_.teacher_checkpoint.empty();
    if (train_teacher) {
      if (cfg_.teacher_train.empty())
        throw Error::usage("the config ships no teacher checkpoint and names no /teacher/train recipe to train one");
      load_run_config(cfg_.teacher_train);
    } else if (!fs::exists(cfg_.teacher_checkpoint)) {
      throw Error::input(cfg_.teacher_checkpoint, "teacher checkpoint not found (or run with --from-scratch to train one)");
    } else {
      (void)load_model(cfg_.teacher_checkpoint);  // a truncated or lying file fails here, before the run folder exists
    }
    if (o_.from_scratch || cfg_.student_checkpoints.empty()) {
      if (cfg_.students_distill.empty())
        throw Error::usage("the config ships no student checkpoints and names no /students/distill recipe");
      load_distill_config(cfg_.students_distill);
    } else {
      for (const auto& [name, path] : cfg_.student_checkpoints) {
        if (!fs::exists(path)) throw Error::input(path, "student checkpoint not found (or run with --from-scratch to distill it)");
        (void)load_model(path);
      }
    }
    open_dataset(cfg_.run.data.dataset, cfg_.run.data.dataset.eval_split);
    if (!o_.export_zoo.empty() && !o_.from_scratch)
      throw Error::usage("--export-zoo needs --from-scratch (the zoo holds what this run trains)");
  }

  // A file's content hash, read once per run (the teacher's names several stages).
  const std::string& hash_of(const std::string& path) {
    auto it = hashes_.find(path);
    if (it == hashes_.end()) it = hashes_.emplace(path, file_hash(path)).first;
    return it->second;
  }

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
      note_stage("teacher", "shipped", teacher_path_, hash_of(teacher_path_), t.seconds());
      return true;
    }
    RunConfig tc = load_run_config(cfg_.teacher_train);
    if (!o_.data_dir.empty()) tc.data.dataset.data_dir = o_.data_dir;
    if (o_.quick) quick_recipe(tc.train.epochs, tc.loader.limit_train, tc.loader.limit_eval);
    teacher_recipe_ = to_json(tc);
    const std::string key = fnv1a_hex(teacher_recipe_.dump());
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
    if (!o_.from_scratch && !cfg_.student_checkpoints.empty()) {
      for (const auto& [name, path] : cfg_.student_checkpoints) {  // preflight() saw the files
        const SafetensorsFile f = SafetensorsFile::read(path);
        students_.push_back({name, path, history_of(f.metadata(), path)});
        note_stage("student " + name, "shipped", path, hash_of(path), 0);
      }
      return true;
    }
    DistillRunConfig d = load_distill_config(cfg_.students_distill);
    d.teacher = teacher_path_;
    if (!o_.data_dir.empty()) d.run.data.dataset.data_dir = o_.data_dir;
    if (o_.quick) {
      quick_recipe(d.run.train.epochs, d.run.loader.limit_train, d.run.loader.limit_eval);
      for (auto& s : d.students) s.train.epochs = 1;
    }
    students_recipe_ = to_json(d);
    students_recipe_.erase("teacher");  // a path: the teacher's identity is its content, below
    const std::string key = fnv1a_hex(students_recipe_.dump() + hash_of(teacher_path_));
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
    ds_ = open_dataset(cfg_.run.data.dataset, cfg_.run.data.dataset.eval_split);
    limit_ = cfg_.eval_limit;
    if (o_.quick) limit_ = limit_ ? std::min<int64_t>(limit_, 1000) : 1000;
    lat_ = cfg_.latency;
    if (o_.quick) {
      lat_.warmup = std::min(lat_.warmup, 1);
      lat_.min_runs = std::min(lat_.min_runs, 3);
      lat_.max_seconds = std::min(lat_.max_seconds, 0.2);
    }
    std::vector<ModelSpec> specs;
    specs.push_back({"teacher", "teacher", "onednn", teacher_path_, false, teacher_history_});
    if (cfg_.int8_ptq)
      specs.push_back({"teacher_w8a8_ptq", "baseline", "onednn-int8", teacher_path_, true, nlohmann::json::array()});
    for (const Student& s : students_)
      for (const std::string& b : cfg_.student_backends) specs.push_back({s.name, "student", b, s.path, false, s.history});
    for (const ModelSpec& m : specs) {
      if (interrupt_requested()) return false;
      models_.push_back(evaluate_cached(m));
    }
    return true;
  }

  ojson evaluate_cached(const ModelSpec& m) {
    Timer t;
    nlohmann::json key_in = {{"name", m.name},   {"role", m.role},   {"backend", m.backend},       {"ptq", m.ptq},
                             {"file", hash_of(m.path)}, {"teacher", hash_of(teacher_path_)}, {"limit", limit_},
                             {"data", to_json(cfg_.run.data)}, {"threads", cfg_.run.threads},
                             {"latency", {cfg_.latency_batches, cfg_.latency_threads, lat_.warmup, lat_.min_runs, lat_.max_seconds, lat_.settle}},
                             {"bitbench", kGitRevision}};
    const std::string key = fnv1a_hex(key_in.dump());
    const fs::path base = fs::path(stage_dir("eval")) / (m.name + "__" + m.backend + "-" + key);
    const std::string entry_file = base.string() + ".json", logits_file = base.string() + ".logits.npy";
    if (fs::exists(entry_file) && (m.role != "teacher" || fs::exists(logits_file))) {
      if (m.role == "teacher") teacher_logits_ = read_npy(logits_file).data;
      note_stage("eval " + m.name + "/" + m.backend, "reused", entry_file, key, t.seconds());
      ojson e = parse_json_file(entry_file);
      e["history"] = m.history;
      return e;
    }
    std::vector<float> logits;
    ojson e = evaluate_model(m, logits);
    if (root_) {  // the others hold no logits (gathered on rank 0) and a partial entry
      if (m.role == "teacher") {
        teacher_logits_ = logits;
        write_npy(logits_file, {static_cast<int64_t>(logits.size()) / ds_->num_classes(), ds_->num_classes()}, logits.data());
      }
      write_file_atomic(entry_file, e.dump(1) + "\n");
    }
    comm::barrier();
    note_stage("eval " + m.name + "/" + m.backend, "measured", entry_file, key, t.seconds());
    e["history"] = m.history;
    return e;
  }

  // Under mpirun each rank measured latency at once on its own cores. Kept
  // apart per rank (host, cores, figures) and merged only where a sum means
  // something: the images/s all ranks served together; p50 as a range, never
  // an average. "latency" stays rank 0's own.
  static void add_rank_latency(ojson& e, const ojson& lat) {
    const ojson mine = {{"rank", comm::rank()}, {"host", host_name()}, {"cpus", affinity_list()}, {"latency", lat}};
    const std::vector<std::string> all = comm::allgather(mine.dump());
    ojson per_rank = ojson::array();
    for (const auto& s : all) per_rank.push_back(ojson::parse(s));
    ojson merged = ojson::array();
    for (size_t i = 0; i < lat.size(); ++i) {
      double ips = 0, lo = 1e300, hi = 0;
      for (const auto& r : per_rank) {
        const auto& l = r["latency"][i];
        ips += l["images_per_s"].get<double>();
        lo = std::min(lo, l["p50_ms"].get<double>());
        hi = std::max(hi, l["p50_ms"].get<double>());
      }
      merged.push_back({{"batch", lat[i]["batch"]}, {"threads_per_rank", lat[i]["threads"]}, {"ranks", comm::size()},
                        {"images_per_s_all_ranks", round_to(ips, 0.01)}, {"p50_ms_range", {lo, hi}}});
    }
    e["latency_per_rank"] = per_rank;
    e["latency_merged"] = merged;
  }

  ojson evaluate_model(const ModelSpec& m, std::vector<float>& logits_out) {
    LoadedModel lm = load_model(m.path);
    const ViTConfig& mc = lm.params.cfg;
    if (mc.img_size != cfg_.run.data.transform.img_size || mc.in_chans != cfg_.run.data.transform.in_chans)
      throw Error::input(m.path, "expects " + std::to_string(mc.in_chans) + "x" + std::to_string(mc.img_size) +
                                     " inputs, the config's data gives " + std::to_string(cfg_.run.data.transform.in_chans) +
                                     "x" + std::to_string(cfg_.run.data.transform.img_size));
    if (ds_->num_classes() > mc.num_classes)
      throw Error::input(m.path, "has " + std::to_string(mc.num_classes) + " classes, the data set " + std::to_string(ds_->num_classes()));
    std::optional<QuantPlan> plan = lm.plan;
    if (m.ptq) plan = QuantPlan::uniform(mc.depth, parse_quant_spec("W8A8"));
    if (m.role == "student" && !plan) throw Error::input(m.path, "is an fp32 model, not a BitNet student");
    const bool integer = m.backend == "bitkernels" || m.backend == "onednn-int8";
    std::optional<IntModel> engine;
    if (integer)
      engine = build_int_model(m.backend == "bitkernels" ? IntEngineKind::kBitKernels : IntEngineKind::kOnednnInt8, lm.params,
                               *plan, m.ptq || lm.packed_layers.empty() ? nullptr : &lm.packed_layers);
    auto be = make_backend("onednn");
    const bool rss_reset = reset_peak_rss();
    ViTRunner runner(lm.params, *be, false, plan ? &*plan : nullptr, engine ? &*engine : nullptr);

    // Accuracy and fidelity on the eval split.
    LoaderOptions lo;
    lo.batch_size = cfg_.run.loader.eval_batch_size;
    lo.workers = cfg_.run.loader.workers;
    lo.prefetch = cfg_.run.loader.prefetch;
    lo.limit = limit_;
    lo.seed = cfg_.run.seed;
    lo.rank = comm::rank();  // a contiguous shard per rank; evaluate() gathers on rank 0
    lo.ranks = comm::size();
    Loader loader(*ds_, cfg_.run.data.transform, cfg_.run.data.augment, lo);
    EvalResult r = evaluate([&](const TensorView& x) { return runner.forward(x); }, loader, true,
                            "eval " + m.name + "/" + m.backend);
    const int K = r.num_classes;
    // Logits beyond the data set's classes (a 1000-class head on a 10-class set) are kept; metrics use all K.
    const float* teacher = m.role != "teacher" && teacher_logits_.size() == r.logits.size() ? teacher_logits_.data() : nullptr;
    ClassificationMetrics cm;
    if (root_) cm = classification_metrics(r.logits.data(), r.labels.data(), r.count, K, teacher);
    const int64_t arena = runner.arena_floats() * 4;

    // Latency per batch size × threads.
    ojson lat = ojson::array();
    const int all = hardware_threads();  // the cores this process may run on (a pinned rank: its own)
    std::vector<int> threads;
    for (int t : cfg_.latency_threads) {
      const int n = t == 0 ? all : t;
      if (std::find(threads.begin(), threads.end(), n) == threads.end()) threads.push_back(n);
    }
    for (int B : cfg_.latency_batches) {
      Tensor x = latency_input(*ds_, cfg_.run.data, B, mc.in_chans, mc.img_size);
      for (int n : threads) {
        set_num_threads(n);
        LatencyStats s = measure_latency([&] { runner.forward(x.view()); }, B, n, lat_);
        lat.push_back({{"batch", s.batch},
                       {"threads", s.threads},
                       {"runs", s.runs},
                       {"p50_ms", round_to(s.p50_ms, 1e-4)},
                       {"p90_ms", round_to(s.p90_ms, 1e-4)},
                       {"p99_ms", round_to(s.p99_ms, 1e-4)},
                       {"mean_ms", round_to(s.mean_ms, 1e-4)},
                       {"std_ms", round_to(s.std_ms, 1e-4)},
                       {"min_ms", round_to(s.min_ms, 1e-4)},
                       {"images_per_s", round_to(s.images_per_s, 0.01)},
                       {"settled", s.settled}});
      }
    }
    set_num_threads(cfg_.run.threads);
    if (!root_) {  // the others only take part in the collectives below; rank 0 writes the entry
      ojson e;
      add_rank_latency(e, lat);
      return e;
    }
    const int64_t rss = peak_rss_bytes();

    // Memory: what the weights take on disk and as this backend holds them.
    const int64_t params = lm.params.count();
    const int64_t quantized = plan ? quantized_weight_count(lm.params, *plan) : 0;
    const int64_t disk = m.ptq ? 0 : static_cast<int64_t>(fs::file_size(m.path));
    const int64_t memory = engine ? engine->weight_bytes() + (params - quantized) * 4 : params * 4;
    const std::string precision = plan ? plan->spec.name() : "FP32";
    ojson e;
    e["name"] = m.name;
    e["role"] = m.role;
    e["precision"] = precision;
    e["backend"] = m.backend;
    e["kernel_path"] = m.backend == "bitkernels" ? engine->kernel_paths() : m.backend == "onednn-int8" ? "onednn-s8s8" : "onednn-f32";
    e["checkpoint"] = m.path;
    e["params"] = params;
    e["quantized_params"] = quantized;
    e["bits_per_weight"] = {{"nominal", nominal_weight_bits(precision)},
                            {"quantized_layers_memory", quantized && engine ? round_to(8.0 * static_cast<double>(engine->weight_bytes()) / static_cast<double>(quantized), 1e-3) : nominal_weight_bits(precision)},
                            {"model_memory", round_to(8.0 * static_cast<double>(memory) / static_cast<double>(params), 1e-3)},
                            {"model_disk", disk ? round_to(8.0 * static_cast<double>(disk) / static_cast<double>(params), 1e-3) : 0.0}};
    e["weight_bytes"] = {{"disk", disk}, {"memory", memory}};
    e["size_bytes"] = disk ? disk : memory;
    e["activation_bytes"] = arena;
    e["peak_rss_bytes"] = rss;
    e["peak_rss_scope"] = rss_reset ? "this evaluation" : "process";
    e["accuracy"] = {{"count", cm.count},
                     {"top1", round_to(cm.top1, 1e-4)},
                     {"top5", round_to(cm.top5, 1e-4)},
                     {"macro_f1", round_to(cm.macro_f1, 1e-4)},
                     {"per_class", cm.per_class_accuracy},
                     {"confusion", nlohmann::json::array()}};
    for (int c = 0; c < K; ++c)
      e["accuracy"]["confusion"].push_back(std::vector<int64_t>(cm.confusion.begin() + c * K, cm.confusion.begin() + (c + 1) * K));
    if (cm.has_teacher) e["fidelity"] = {{"agreement", round_to(cm.agreement, 1e-4)}, {"kl_teacher", cm.kl_teacher}};
    e["latency"] = lat;
    if (comm::size() > 1) add_rank_latency(e, lat);
    e["eval_seconds"] = round_to(r.seconds, 1e-3);
    logits_out = std::move(r.logits);
    return e;
  }

  ojson assemble(double seconds) const {
    ojson j;
    j["schema_version"] = kReportSchemaVersion;
    j["name"] = cfg_.run.name;
    j["created_utc"] = utc_now();
    const nlohmann::json cj = to_json(cfg_);
    j["config"] = cj;
    j["config_hash"] = fnv1a_hex(cj.dump());
    j["run"] = {{"out_dir", o_.out_dir}, {"quick", o_.quick}, {"from_scratch", o_.from_scratch}, {"seconds", round_to(seconds, 0.01)}};
    ojson env = capture_environment(o_.command_line);
    env["seed"] = cfg_.run.seed;
    j["environment"] = env;
    j["dataset"] = {{"name", ds_->name()},
                    {"split", ds_->split()},
                    {"count", models_.empty() ? 0 : models_.front()["accuracy"]["count"].get<int64_t>()},
                    {"size", ds_->size()},
                    {"num_classes", ds_->num_classes()},
                    {"class_names", ds_->class_names()}};
    j["models"] = models_;
    j["projection"] = weight_memory_projection();
    j["stages"] = stages_;
    return j;
  }

  // Copies the checkpoints this run trained into the zoo folder, tagged with the
  // recipe's hash, the git revision and the top-1 they reach on a fixed subset
  // (the zoo test re-measures it).
  // preflight() allows it only with --from-scratch, so both were trained (or reused from training stages).
  void export_zoo(const ojson& report) {
    make_dirs(o_.export_zoo);
    auto top1_of = [&](const std::string& name, const std::string& backend) {
      for (const auto& e : report["models"])
        if (e["name"] == name && e["backend"] == backend) return e["accuracy"]["top1"].get<double>();
      return -1.0;
    };
    auto tag = [&](const std::string& src, const std::string& dst, const std::string& recipe_hash, const std::string& backend,
                   const std::string& name, const nlohmann::json& history) {
      const SafetensorsFile f = SafetensorsFile::read(src);
      std::vector<TensorToWrite> ts;
      for (const auto& t : f.tensors()) ts.push_back({t.name, t.shape, t.dtype, f.raw(t)});
      std::map<std::string, std::string> meta = f.metadata();
      meta["zoo_recipe_hash"] = recipe_hash;
      meta["zoo_git_revision"] = kGitRevision;
      meta["zoo_config"] = cfg_.run.name;
      meta["history"] = history.dump();
      const double subset_top1 = zoo_subset_top1(src, backend, cfg_.run.data, kZooSubset);
      meta["zoo_eval"] = nlohmann::json{{"dataset", ds_->name()}, {"split", ds_->split()}, {"backend", backend},
                                        {"top1", top1_of(name, backend)}, {"count", report["dataset"]["count"]},
                                        {"subset_limit", kZooSubset}, {"subset_seed", 0}, {"subset_top1", subset_top1}}
                                 .dump();
      write_safetensors(dst, ts, meta);
      std::fprintf(stderr, "zoo: %s (subset top-1 %.2f%%)\n", dst.c_str(), subset_top1);
    };
    tag(teacher_path_, (fs::path(o_.export_zoo) / (cfg_.run.name + "_teacher.safetensors")).string(),
        fnv1a_hex(teacher_recipe_.dump()), "onednn", "teacher", teacher_history_);
    for (const Student& s : students_)
      tag(s.path, (fs::path(o_.export_zoo) / (s.name + ".packed.safetensors")).string(), fnv1a_hex(students_recipe_.dump()),
          "bitkernels", s.name, s.history);
  }

  const BenchConfig& cfg_;
  const RunOptions& o_;
  const bool root_;  // rank 0 (or the only process): the one that writes
  std::string teacher_path_;
  nlohmann::json teacher_history_ = nlohmann::json::array(), teacher_recipe_, students_recipe_;
  std::vector<Student> students_;
  std::unique_ptr<Dataset> ds_;
  int64_t limit_ = 0;
  LatencyOptions lat_;
  std::vector<float> teacher_logits_;
  ojson models_ = ojson::array(), stages_ = ojson::array();
  std::map<std::string, std::string> hashes_;  // path → file_hash
};

}  // namespace

double zoo_subset_top1(const std::string& path, const std::string& backend, const DataConfig& data, int64_t limit) {
  LoadedModel lm = load_model(path);
  std::optional<IntModel> engine;
  if (backend == "bitkernels")
    engine = build_int_model(IntEngineKind::kBitKernels, lm.params, *lm.plan, lm.packed_layers.empty() ? nullptr : &lm.packed_layers);
  auto be = make_backend("onednn");
  ViTRunner runner(lm.params, *be, false, lm.plan_ptr(), engine ? &*engine : nullptr);
  auto ds = open_dataset(data.dataset, data.dataset.eval_split);
  LoaderOptions lo;
  lo.batch_size = 250;
  lo.workers = 0;
  lo.limit = limit;
  lo.seed = 0;
  Loader loader(*ds, data.transform, data.augment, lo);
  return evaluate([&](const TensorView& x) { return runner.forward(x); }, loader, false, "zoo subset").top1();
}

RunOutcome run_benchmark(const BenchConfig& cfg, const RunOptions& o) { return Pipeline(cfg, o).run(); }

}  // namespace bb
