#include "eval/distill.hpp"

#include <filesystem>
#include <optional>
#include <set>

#include "core/comm.hpp"
#include "core/dir_lock.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/json_reader.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "core/version.hpp"
#include "eval/evaluator.hpp"
#include "eval/precision_search.hpp"
#include "eval/teacher.hpp"
#include "kernels/backend.hpp"
#include "models/checkpoint.hpp"
#include "models/packed.hpp"
#include "models/quant_plan_json.hpp"
#include "models/vit.hpp"
#include "train/teacher_logit_cache.hpp"

namespace fs = std::filesystem;

namespace bb {
namespace {

// Student tensors from a source model: every tensor of the same shape, blocks
// mapped by relative depth; a DeiT dist token and head start as the class
// token and head. Returns how many tensors were copied.
int init_from(ViTParams& s, const ViTParams& src) {
  const int Ls = s.cfg.depth, Lt = src.cfg.depth;
  int copied = 0;
  for (const auto& e : s.entries) {
    std::string name = e.name;
    if (name.rfind("blocks.", 0) == 0) {
      const size_t dot = name.find('.', 7);
      const int i = std::stoi(name.substr(7, dot - 7));
      const int j = Ls == Lt ? i : (i + 1) * Lt / Ls - 1;
      name = "blocks." + std::to_string(j) + name.substr(dot);
    }
    const ParamEntry* t = src.find(name);
    if (!t && name == "dist_token") t = src.find("cls_token");
    if (!t && name.rfind("head_dist.", 0) == 0) t = src.find("head." + name.substr(10));
    if (t && t->shape == e.shape) {
      std::copy(src.data(*t), src.data(*t) + e.numel, s.data(e));
      ++copied;
    } else if (t && name == "pos_embed" && e.shape.size() == 3 && t->shape.size() == 3 && e.shape[2] == t->shape[2] &&
               e.shape[1] == t->shape[1] + 1) {
      // One more prefix token (the dist token): it takes the class token's position.
      const int64_t D = e.shape[2];
      const float* from = src.data(*t);
      float* to = s.data(e);
      std::copy(from, from + D, to);
      std::copy(from, from + t->numel, to + D);
      ++copied;
    }
  }
  return copied;
}

// Finished students by name: weights and plan (teachers and initialisers of later stages).
struct DoneStudent {
  ViTParams params;
  QuantPlan plan;
};

// A student about to be distilled: its architecture, plan and initial weights.
struct StudentStart {
  ViTParams params;
  QuantPlan plan;
  std::string init;  // where its weights came from: "teacher", "scratch" or a student's name
  int copied = 0;    // tensors copied from there
};

// One call of run_distillation, in its three steps: resolve (teacher, every
// student's plan, data, folder), distil one student at a time, summarise.
class DistillationRun {
 public:
  DistillationRun(const DistillRunConfig& cfg, const std::string& out_dir, bool resume, bool progress)
      : cfg_(cfg), out_dir_(out_dir), resume_(resume), progress_(progress) {}

  DistillOutcome run() {
    resolve();
    for (const StudentConfig& sc : cfg_.students)
      if (!distil_one(sc)) {
        out_.interrupted = true;
        return out_;
      }
    if (!cfg_.search_only) summarise();  // --plan-only: students.json of an earlier run stays as it was
    return out_;
  }

 private:
  // ---- resolve: everything the students need, checked before any training
  void resolve() {
    load_teacher();
    check_student_plans();
    data_.emplace(open_train_data(cfg_.run));
    // Said once the inputs loaded, so that a bad input gives one line on stderr.
    // Under mpirun every rank trains (data parallel); rank 0 alone writes.
    if (progress_ && root_)
      std::fprintf(stderr, "distilling %zu student(s) of %s on %s (%d threads, %d ranks) -> %s\n", cfg_.students.size(),
                   cfg_.teacher.c_str(), cfg_.run.data.dataset.name.c_str(), num_threads(), comm::size(), out_dir_.c_str());
    if (root_) {
      make_dirs(out_dir_);
      lock_.emplace(out_dir_);
    }
    comm::barrier();
    backend_ = make_backend(ModelBackend::kOnednn);
    const EvalResult t = eval_with(teacher_->params, nullptr, "  teacher " + eval_name());
    out_.teacher_top1 = t.top1();
    out_.teacher_top5 = t.top5();
    out_.teacher_params = teacher_->params.count();
    if (root_) std::fprintf(stderr, "teacher %s: top-1 %.2f%%, %lld parameters\n", cfg_.teacher.c_str(), out_.teacher_top1,
                            static_cast<long long>(out_.teacher_params));
  }

  void load_teacher() {
    if (!fs::exists(cfg_.teacher))
      throw Error::input(cfg_.teacher, "teacher checkpoint not found (train one with `bitbench train`, or pass --teacher)");
    const SafetensorsFile f = SafetensorsFile::read(cfg_.teacher);
    teacher_.emplace(load_vit(f, cfg_.teacher_config));
    // Every student records the run's teacher (a chain stage's too: its gap is to this teacher) by its weights.
    teacher_sha256_ = weights_sha256(f);
    if (teacher_->metadata.count("quant")) throw Error::input(cfg_.teacher, "is a quantised student, not a full-precision teacher");
    const ViTConfig& tc = teacher_->params.cfg;
    const TransformConfig& x = cfg_.run.data.transform;
    if (tc.img_size != x.img_size || tc.in_chans != x.in_chans)
      throw Error::input(cfg_.teacher, "expects " + std::to_string(tc.in_chans) + "x" + std::to_string(tc.img_size) +
                                           " inputs, the config's data gives " + std::to_string(x.in_chans) + "x" +
                                           std::to_string(x.img_size));
  }

  // Every student's architecture and plan (a block index beyond a student's
  // depth fails now, not after earlier students trained).
  void check_student_plans() const {
    std::map<std::string, ViTConfig> arch_of;
    for (const StudentConfig& sc : cfg_.students) {
      const ViTConfig arch = student_arch(sc, sc.from == "teacher" ? teacher_->params.cfg : arch_of.at(sc.from));
      (void)student_plan(sc, arch);
      arch_of.emplace(sc.name, arch);
    }
  }

  // The teacher's architecture (of this stage), with the student's overrides.
  static ViTConfig student_arch(const StudentConfig& sc, const ViTConfig& teacher) {
    JsonReader m(sc.model, "config", "/students/" + sc.name + "/model");
    return read_vit_config(m, teacher);
  }
  static QuantPlan student_plan(const StudentConfig& sc, const ViTConfig& arch) {
    return sc.quant.plan(arch.depth, "config", "/students/" + sc.name + "/quant");
  }

  std::string eval_name() const { return data_->eval_set->name() + "/" + data_->eval_set->split(); }

  EvalResult eval_with(const ViTParams& p, const QuantPlan* plan, const std::string& label) {
    ViTRunner runner(p, *backend_, false, plan);
    return evaluate([&](const TensorView& x) { return runner.forward(x); }, *data_->eval, false, label);
  }

  // ---- distil one: false when an interrupt stopped its training (its state is saved)
  bool distil_one(const StudentConfig& sc) {
    const std::string dir = (fs::path(out_dir_) / sc.name).string();
    const std::string final_path = (fs::path(dir) / (sc.name + ".safetensors")).string();
    if (cfg_.search_only)  // --plan-only trains no searched student: one cannot start from another
      for (const std::string& dep : {sc.from, sc.init})
        if (dep != "teacher" && dep != "scratch" && !done_.count(dep))
          throw Error::usage("--plan-only cannot search " + sc.name + ": it starts from " + dep +
                             ", a searched student --plan-only does not train (run without --plan-only)");
    StudentStart st = start_student(sc);
    if (sc.search) {
      search_plan(sc, dir, st);
      if (cfg_.search_only) return true;
    }
    StudentResult res;
    res.name = sc.name;
    res.spec = st.plan.label();
    res.from = sc.from;
    res.path = final_path;
    Timer timer;
    if (resume_ && fs::exists(final_path)) {
      keep_finished(sc, final_path, st.params, res);
    } else {
      if (root_) std::fprintf(stderr, "%s: %s, %lld parameters, distilled from %s (%s), init %s (%d tensors copied)\n",
                              sc.name.c_str(), st.plan.label().c_str(), static_cast<long long>(st.params.count()),
                              sc.from.c_str(), sc.distill.kind.c_str(), st.init.c_str(), st.copied);
      if (!train_student(sc, dir, st, res)) return false;
    }
    res.packed_path = (fs::path(dir) / (sc.name + ".packed.safetensors")).string();
    measure_student(sc, st, res);
    res.minutes = timer.seconds() / 60;
    if (root_) std::fprintf(stderr, "%s: top-1 %.2f%% (teacher %.2f%%, %+.2f points), %.1f min\n", sc.name.c_str(), res.top1,
                            out_.teacher_top1, res.top1 - out_.teacher_top1, res.minutes);
    out_.students.push_back(res);
    done_.emplace(sc.name, DoneStudent{std::move(st.params), st.plan});
    return true;
  }

  const ViTParams& stage_teacher(const StudentConfig& sc) const {
    return sc.from == "teacher" ? teacher_->params : done_.at(sc.from).params;
  }

  // Architecture, plan and initial weights: random, then every tensor of the
  // same shape copied from the initialiser ("init", default this stage's teacher).
  StudentStart start_student(const StudentConfig& sc) const {
    const ViTConfig arch = student_arch(sc, stage_teacher(sc).cfg);
    StudentStart st{ViTParams(arch), student_plan(sc, arch), sc.init == "teacher" ? sc.from : sc.init, 0};
    st.params.init_random(cfg_.run.seed);
    if (st.init != "scratch") st.copied = init_from(st.params, st.init == "teacher" ? teacher_->params : done_.at(st.init).params);
    return st;
  }

  // A searched student's plan (eval/precision_search.hpp), measured on
  // calibration images of the training split with its initial weights. Rank 0
  // searches and writes <dir>/search.json; every rank then takes the plan from
  // that file, so all train the same plan (a latency cost differs by rank).
  // A resumed run that finds the file keeps the plan it holds: its weights
  // were trained with it, and a latency cost measured again could differ.
  void search_plan(const StudentConfig& sc, const std::string& dir, StudentStart& st) {
    const std::string path = (fs::path(dir) / "search.json").string();
    const bool reuse = resume_ && fs::exists(path);
    if (!reuse && root_) {
      const nlohmann::json record = run_search(sc, st);
      make_dirs(dir);
      write_file_atomic(path, record.dump(1) + "\n");
    }
    comm::barrier();
    const nlohmann::json record = parse_json_file(path);
    // A plan searched under another ladder, budget or start is not this student's.
    const nlohmann::json want = to_json(*sc.search);
    if (!record.contains("config") || record["config"] != want || !record.contains("rungs") || !record["rungs"].is_array() ||
        record["rungs"].empty() || record["rungs"][0] != st.plan.spec.name() || !record.contains("plan"))
      throw Error::input(path, "was searched with another search config or start spec than /students/" + sc.name +
                                   " now gives (" + want.dump() + " from " + st.plan.spec.name() +
                                   "); remove it to search again, or use another --out");
    // Only the blocks come from the file: every other plan setting is the config's.
    st.plan.blocks = quant_plan_from_json(record["plan"], st.params.cfg.depth, path, "/plan").blocks;
    if (reuse && root_) std::fprintf(stderr, "%s: the plan searched before (%s): %s\n", sc.name.c_str(), path.c_str(),
                                     st.plan.label().c_str());
    search_record_[sc.name] = record;
  }

  nlohmann::json run_search(const StudentConfig& sc, const StudentStart& st) {
    const SearchConfig& c = *sc.search;
    const Dataset& train_set = *data_->train_set;
    LoaderOptions lo;
    lo.batch_size = cfg_.run.loader.eval_batch_size;
    lo.workers = cfg_.run.loader.workers;
    lo.limit = c.images;
    lo.first = true;  // the first images in file order, un-augmented: the same set whatever the seed
    Loader calib(train_set, cfg_.run.data.transform, cfg_.run.data.augment, lo);
    SearchInputs in;
    in.weights = &st.params;
    in.start = st.plan;
    in.teacher = &stage_teacher(sc);
    in.teacher_plan = sc.from == "teacher" ? nullptr : &done_.at(sc.from).plan;
    in.progress = progress_;
    in.batches = [&](const std::function<void(const TensorView&, const std::vector<int>&)>& fn) {
      calib.start_epoch(0);
      while (const Batch* b = calib.next()) fn(b->images, b->labels);
    };
    if (in.progress)
      std::fprintf(stderr, "%s: searching %zu rung(s) below %s on %lld training images (%s, budget %g)\n",
                   sc.name.c_str(), c.ladder.size(), st.plan.spec.name().c_str(),
                   static_cast<long long>(std::min<int64_t>(c.images, static_cast<int64_t>(train_set.size()))),
                   c.measure == SearchMeasure::kKL ? "KL to the teacher" : "top-1 points", c.budget);
    const PlanScorer scorer(in);
    const SensitivityTable table = measure_sensitivity(c, scorer, in);
    const SearchOutcome o = search_precision(table, c.budget, [&](const std::vector<int>& rung) {
      return scorer.lost(scorer.score(plan_of(in.start, table, rung)), c.measure);
    });
    nlohmann::json record = to_json(table, o, c);
    record["student"] = sc.name;
    record["plan"] = to_json(plan_of(in.start, table, o.rung));
    print_search(sc, table, o);
    return record;
  }

  static void print_search(const StudentConfig& sc, const SensitivityTable& t, const SearchOutcome& o) {
    const bool kl = t.measure == SearchMeasure::kKL;
    std::fprintf(stderr, "%s: sensitivity (%s lost with only that layer at the rung; start %s %.4g, top-1 %.2f%%)\n",
                 sc.name.c_str(), kl ? "KL" : "top-1 points", t.rungs[0].name().c_str(), t.base, t.base_top1);
    std::fprintf(stderr, "  %-20s", "layer");
    for (size_t r = 1; r < t.rungs.size(); ++r) std::fprintf(stderr, " %10s", t.rungs[r].name().c_str());
    std::fprintf(stderr, "  chosen\n");
    for (size_t l = 0; l < t.layers.size(); ++l) {
      std::fprintf(stderr, "  %-20s", t.layers[l].name.c_str());
      for (size_t r = 1; r < t.rungs.size(); ++r) std::fprintf(stderr, " %10.4g", t.delta[l][r]);
      std::fprintf(stderr, "  %s\n", t.rungs[static_cast<size_t>(o.rung[l])].name().c_str());
    }
    int reverts = 0;
    for (const SearchStep& s : o.trace) reverts += s.action == "revert";
    std::fprintf(stderr, "%s: chosen plan: %s lost %.4g measured (%.4g predicted), cost %.4g %s = %.3f of the start; %d "
                         "revert(s)\n", sc.name.c_str(), kl ? "KL" : "top-1 points", o.measured, o.predicted, o.cost,
                 t.cost_kind == SearchCost::kBytes ? "bytes" : "ms", o.start_cost > 0 ? o.cost / o.start_cost : 0.0, reverts);
  }

  // What the student's files say of it (the latent checkpoint and the packed
  // export alike): recipe, lineage, data set, class names and transform; a
  // searched student's search record.
  std::map<std::string, std::string> student_metadata(const StudentConfig& sc) const {
    std::map<std::string, std::string> m = {{"recipe", to_json(cfg_).dump()},
            {"student", sc.name},
            {"teacher", sc.from == "teacher" ? cfg_.teacher : sc.from},
            {"teacher_sha256", teacher_sha256_},
            {"dataset", cfg_.run.data.dataset.name},
            {"class_names", nlohmann::json(data_->train_set->class_names()).dump()},
            {"transform", to_json(cfg_.run.data)["transform"].dump()},
            {"version", std::string(kVersion) + " (git " + kGitRevision + ")"}};
    if (auto it = search_record_.find(sc.name); it != search_record_.end()) m["search"] = it->second.dump();
    return m;
  }

  // A student a resumed run finished before: its final weights and history, kept.
  void keep_finished(const StudentConfig& sc, const std::string& final_path, ViTParams& params, StudentResult& res) const {
    LoadedViT prev = load_vit(final_path);
    if (prev.params.count() != params.count()) throw Error::input(final_path, "does not match this student's architecture");
    std::copy(prev.params.flat.data(), prev.params.flat.data() + params.count(), params.flat.data());
    if (root_) std::fprintf(stderr, "%s: already finished, kept (%s)\n", sc.name.c_str(), final_path.c_str());
    res.history = prev.metadata.count("history") ? parse_json_text(prev.metadata["history"], final_path) : nlohmann::json::array();
  }

  bool train_student(const StudentConfig& sc, const std::string& dir, StudentStart& st, StudentResult& res) {
    const QuantPlan* src_plan = sc.from == "teacher" ? nullptr : &done_.at(sc.from).plan;
    DistillObjective objective(stage_teacher(sc), src_plan, sc.distill, static_cast<float>(sc.train.label_smoothing),
                               sc.from == "teacher" ? &teacher_logits_ : nullptr);
    auto eval_backend = make_backend(ModelBackend::kOnednn);
    ViTRunner eval_model(st.params, *eval_backend, false, &st.plan);
    EvalFn eval = [&](const ViTParams&) {
      EvalResult r = evaluate([&](const TensorView& x) { return eval_model.forward(x); }, *data_->eval, false,
                              "  eval " + eval_name());
      return EvalScores{r.top1(), r.top5()};
    };
    TrainerOptions o;
    o.train = sc.train;
    o.out_dir = dir;
    o.final_name = sc.name;
    o.resume = resume_ && fs::exists(fs::path(dir) / "checkpoint.safetensors");
    o.progress = progress_;
    o.plan = &st.plan;
    o.objective = &objective;
    o.metadata = student_metadata(sc);
    TrainOutcome r = Trainer(st.params, *data_->train, eval, o).run();
    if (r.interrupted) return false;
    res.best_top1 = r.best_top1;
    res.stopped_early = r.stopped_early;
    res.epochs_run = static_cast<int>(r.history.size());
    res.history = to_json(r.history);
    return true;
  }

  // The packed export (written, then read back: it round-trips), sizes, counts and held-out scores.
  void measure_student(const StudentConfig& sc, const StudentStart& st, StudentResult& res) {
    if (root_) write_packed_student(res.packed_path, st.params, st.plan, student_metadata(sc));
    comm::barrier();
    const PackedStudent packed = read_packed_student(res.packed_path);
    res.packed_bytes = packed.packed_bytes;
    res.fp32_bytes = packed.fp32_bytes;
    res.params = st.params.count();
    res.quantized_weights = quantized_weight_count(st.params, st.plan);
    res.ternary_zeros = ternary_zero_fraction(st.params, st.plan);
    const EvalResult e = eval_with(st.params, &st.plan, "  " + sc.name + " " + eval_name());
    res.top1 = e.top1();
    res.top5 = e.top5();
    if (res.best_top1 == 0) res.best_top1 = res.top1;
  }

  // ---- summarise: the teacher-logit cache's reuse and <out>/students.json
  void summarise() {
    out_.teacher_batches = teacher_logits_.lookups();
    out_.teacher_batches_reused = teacher_logits_.hits();
    if (root_ && out_.teacher_batches_reused > 0)
      std::fprintf(stderr, "teacher forward: %lld of %lld batches reused from an earlier student (%.1f MB held)\n",
                   static_cast<long long>(out_.teacher_batches_reused), static_cast<long long>(out_.teacher_batches),
                   static_cast<double>(teacher_logits_.bytes()) / 1e6);
    nlohmann::json summary = {{"teacher", {{"path", cfg_.teacher}, {"top1", out_.teacher_top1}, {"top5", out_.teacher_top5},
                                           {"params", out_.teacher_params}}},
                              {"students", nlohmann::json::array()}};
    for (const auto& s : out_.students) summary["students"].push_back(student_summary(s));
    out_.summary_path = (fs::path(out_dir_) / "students.json").string();
    if (root_) write_file_atomic(out_.summary_path, summary.dump(2) + "\n");
  }

  nlohmann::json student_summary(const StudentResult& s) const {
    return {{"name", s.name},
            {"spec", s.spec},
            {"from", s.from},
            {"path", s.path},
            {"packed_path", s.packed_path},
            {"top1", s.top1},
            {"top5", s.top5},
            {"best_top1", s.best_top1},
            {"top1_minus_teacher", s.top1 - out_.teacher_top1},
            {"params", s.params},
            {"quantized_weights", s.quantized_weights},
            {"ternary_zero_fraction", s.ternary_zeros},
            {"packed_bytes", s.packed_bytes},
            {"fp32_bytes", s.fp32_bytes},
            {"epochs_run", s.epochs_run},
            {"stopped_early", s.stopped_early},
            {"minutes", s.minutes},
            {"history", s.history}};
  }

  const DistillRunConfig& cfg_;
  const std::string& out_dir_;
  const bool resume_, progress_;
  const bool root_ = comm::is_root();
  std::optional<LoadedViT> teacher_;
  std::string teacher_sha256_;
  std::optional<TrainData> data_;
  std::optional<DirLock> lock_;
  std::unique_ptr<Backend> backend_;
  std::map<std::string, DoneStudent> done_;
  std::map<std::string, nlohmann::json> search_record_;  // searched students' records, by name
  TeacherLogitCache teacher_logits_;  // students from the teacher see the same batches: its forward once
  DistillOutcome out_;
};

}  // namespace

DistillOutcome run_distillation(const DistillRunConfig& cfg, const std::string& out_dir, bool resume, bool progress) {
  return DistillationRun(cfg, out_dir, resume, progress).run();
}

}  // namespace bb
