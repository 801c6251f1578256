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
#include "eval/teacher.hpp"
#include "kernels/backend.hpp"
#include "models/checkpoint.hpp"
#include "models/packed.hpp"
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

}  // namespace

DistillOutcome run_distillation(const DistillRunConfig& cfg, const std::string& out_dir, bool resume, bool progress) {
  if (!fs::exists(cfg.teacher))
    throw Error::input(cfg.teacher, "teacher checkpoint not found (train one with `bitbench train`, or pass --teacher)");
  LoadedViT teacher = load_vit(cfg.teacher, cfg.teacher_config);
  // Every student records the run's teacher (a chain stage's too: its gap is to this teacher) by its weights.
  const std::string teacher_sha256 = weights_sha256(SafetensorsFile::read(cfg.teacher));
  if (auto it = teacher.metadata.find("quant"); it != teacher.metadata.end())
    throw Error::input(cfg.teacher, "is a quantised student, not a full-precision teacher");
  const ViTConfig& tc = teacher.params.cfg;
  if (tc.img_size != cfg.run.data.transform.img_size || tc.in_chans != cfg.run.data.transform.in_chans)
    throw Error::input(cfg.teacher, "expects " + std::to_string(tc.in_chans) + "x" + std::to_string(tc.img_size) +
                                        " inputs, the config's data gives " + std::to_string(cfg.run.data.transform.in_chans) +
                                        "x" + std::to_string(cfg.run.data.transform.img_size));
  // Every student's architecture and plan, checked before any training (a
  // block index beyond a student's depth fails now, not after earlier students trained).
  {
    std::map<std::string, ViTConfig> arch_of;
    for (const StudentConfig& sc : cfg.students) {
      JsonReader m(sc.model, "config", "/students/" + sc.name + "/model");
      const ViTConfig arch = read_vit_config(m, sc.from == "teacher" ? tc : arch_of.at(sc.from));
      (void)sc.quant.plan(arch.depth, "config", "/students/" + sc.name + "/quant");
      arch_of.emplace(sc.name, arch);
    }
  }
  TrainData data = open_train_data(cfg.run);
  // Said once the inputs loaded, so that a bad input gives one line on stderr.
  // Under mpirun every rank trains (data parallel); rank 0 alone writes.
  const bool root = comm::is_root();
  if (progress && root)
    std::fprintf(stderr, "distilling %zu student(s) of %s on %s (%d threads, %d ranks) -> %s\n", cfg.students.size(),
                 cfg.teacher.c_str(), cfg.run.data.dataset.name.c_str(), num_threads(), comm::size(), out_dir.c_str());
  std::optional<DirLock> lock;
  if (root) {
    make_dirs(out_dir);
    lock.emplace(out_dir);
  }
  comm::barrier();
  auto backend = make_backend(ModelBackend::kOnednn);
  auto eval_with = [&](const ViTParams& p, const QuantPlan* plan, const std::string& label) {
    ViTRunner runner(p, *backend, false, plan);
    return evaluate([&](const TensorView& x) { return runner.forward(x); }, *data.eval, false, label);
  };

  DistillOutcome out;
  {
    EvalResult t = eval_with(teacher.params, nullptr, "  teacher " + data.eval_set->name() + "/" + data.eval_set->split());
    out.teacher_top1 = t.top1();
    out.teacher_top5 = t.top5();
    out.teacher_params = teacher.params.count();
    if (root) std::fprintf(stderr, "teacher %s: top-1 %.2f%%, %lld parameters\n", cfg.teacher.c_str(), out.teacher_top1,
                 static_cast<long long>(out.teacher_params));
  }

  // Finished students by name: weights and plan (teachers and initialisers of later stages).
  struct Done {
    ViTParams params;
    QuantPlan plan;
  };
  std::map<std::string, Done> done;

  TeacherLogitCache teacher_logits;  // students from the teacher see the same batches: its forward once
  for (const StudentConfig& sc : cfg.students) {
    const std::string dir = (fs::path(out_dir) / sc.name).string();
    const std::string final_path = (fs::path(dir) / (sc.name + ".safetensors")).string();
    const ViTParams& src_teacher = sc.from == "teacher" ? teacher.params : done.at(sc.from).params;
    const QuantPlan* src_plan = sc.from == "teacher" ? nullptr : &done.at(sc.from).plan;
    // Architecture: the teacher's (of this stage), with the student's overrides.
    ViTConfig arch;
    {
      JsonReader m(sc.model, "config", "/students/" + sc.name + "/model");
      arch = read_vit_config(m, src_teacher.cfg);
    }
    QuantPlan plan = sc.quant.plan(arch.depth, "config", "/students/" + sc.name + "/quant");
    ViTParams params(arch);
    params.init_random(cfg.run.seed);
    const std::string init = sc.init == "teacher" ? sc.from : sc.init;
    int copied = 0;
    if (init != "scratch") copied = init_from(params, init == "teacher" ? teacher.params : done.at(init).params);

    // What the student's files say of it (the latent checkpoint and the packed
    // export alike): recipe, lineage, data set, class names and transform.
    std::map<std::string, std::string> student_meta = {
        {"recipe", to_json(cfg).dump()},
        {"student", sc.name},
        {"teacher", sc.from == "teacher" ? cfg.teacher : sc.from},
        {"teacher_sha256", teacher_sha256},
        {"dataset", cfg.run.data.dataset.name},
        {"class_names", nlohmann::json(data.train_set->class_names()).dump()},
        {"transform", to_json(cfg.run.data)["transform"].dump()},
        {"version", std::string(kVersion) + " (git " + kGitRevision + ")"}};
    StudentResult res;
    res.name = sc.name;
    res.spec = plan.spec.name();
    res.from = sc.from;
    Timer timer;
    if (resume && fs::exists(final_path)) {
      LoadedViT prev = load_vit(final_path);
      if (prev.params.count() != params.count()) throw Error::input(final_path, "does not match this student's architecture");
      std::copy(prev.params.flat.data(), prev.params.flat.data() + params.count(), params.flat.data());
      if (root) std::fprintf(stderr, "%s: already finished, kept (%s)\n", sc.name.c_str(), final_path.c_str());
      res.history = prev.metadata.count("history") ? parse_json_text(prev.metadata["history"], final_path) : nlohmann::json::array();
    } else {
      if (root) std::fprintf(stderr, "%s: %s, %lld parameters, distilled from %s (%s), init %s (%d tensors copied)\n",
                   sc.name.c_str(), plan.spec.name().c_str(), static_cast<long long>(params.count()), sc.from.c_str(),
                   sc.distill.kind.c_str(), init.c_str(), copied);
      DistillObjective objective(src_teacher, src_plan, sc.distill, static_cast<float>(sc.train.label_smoothing),
                                 sc.from == "teacher" ? &teacher_logits : nullptr);
      auto eval_backend = make_backend(ModelBackend::kOnednn);
      ViTRunner eval_model(params, *eval_backend, false, &plan);
      EvalFn eval = [&](const ViTParams&) {
        EvalResult r = evaluate([&](const TensorView& x) { return eval_model.forward(x); }, *data.eval, false,
                                "  eval " + data.eval_set->name() + "/" + data.eval_set->split());
        return EvalScores{r.top1(), r.top5()};
      };
      TrainerOptions o;
      o.train = sc.train;
      o.out_dir = dir;
      o.final_name = sc.name;
      o.resume = resume && fs::exists(fs::path(dir) / "checkpoint.safetensors");
      o.progress = progress;
      o.plan = &plan;
      o.objective = &objective;
      o.metadata = student_meta;
      Trainer trainer(params, *data.train, eval, o);
      TrainOutcome r = trainer.run();
      if (r.interrupted) {
        out.interrupted = true;
        return out;
      }
      res.best_top1 = r.best_top1;
      res.stopped_early = r.stopped_early;
      res.epochs_run = static_cast<int>(r.history.size());
      res.history = nlohmann::json::array();
      for (const auto& h : r.history) res.history.push_back(to_json(h));
    }
    res.path = final_path;
    res.packed_path = (fs::path(dir) / (sc.name + ".packed.safetensors")).string();
    if (root)
      write_packed_student(res.packed_path, params, plan, student_meta);
    comm::barrier();
    PackedStudent packed = read_packed_student(res.packed_path);  // also checks the file round-trips
    res.packed_bytes = packed.packed_bytes;
    res.fp32_bytes = packed.fp32_bytes;
    res.params = params.count();
    res.quantized_weights = quantized_weight_count(params, plan);
    res.ternary_zeros = ternary_zero_fraction(params, plan);
    EvalResult e = eval_with(params, &plan, "  " + sc.name + " " + data.eval_set->name() + "/" + data.eval_set->split());
    res.top1 = e.top1();
    res.top5 = e.top5();
    if (res.best_top1 == 0) res.best_top1 = res.top1;
    res.minutes = timer.seconds() / 60;
    if (root) std::fprintf(stderr, "%s: top-1 %.2f%% (teacher %.2f%%, %+.2f points), %.1f min\n", sc.name.c_str(), res.top1,
                 out.teacher_top1, res.top1 - out.teacher_top1, res.minutes);
    out.students.push_back(res);
    done.emplace(sc.name, Done{std::move(params), plan});
  }

  out.teacher_batches = teacher_logits.lookups();
  out.teacher_batches_reused = teacher_logits.hits();
  if (root && out.teacher_batches_reused > 0)
    std::fprintf(stderr, "teacher forward: %lld of %lld batches reused from an earlier student (%.1f MB held)\n",
                 static_cast<long long>(out.teacher_batches_reused), static_cast<long long>(out.teacher_batches),
                 static_cast<double>(teacher_logits.bytes()) / 1e6);

  nlohmann::json summary = {{"teacher", {{"path", cfg.teacher}, {"top1", out.teacher_top1}, {"top5", out.teacher_top5},
                                         {"params", out.teacher_params}}},
                            {"students", nlohmann::json::array()}};
  for (const auto& s : out.students)
    summary["students"].push_back({{"name", s.name},
                                   {"spec", s.spec},
                                   {"from", s.from},
                                   {"path", s.path},
                                   {"packed_path", s.packed_path},
                                   {"top1", s.top1},
                                   {"top5", s.top5},
                                   {"best_top1", s.best_top1},
                                   {"top1_minus_teacher", s.top1 - out.teacher_top1},
                                   {"params", s.params},
                                   {"quantized_weights", s.quantized_weights},
                                   {"ternary_zero_fraction", s.ternary_zeros},
                                   {"packed_bytes", s.packed_bytes},
                                   {"fp32_bytes", s.fp32_bytes},
                                   {"epochs_run", s.epochs_run},
                                   {"stopped_early", s.stopped_early},
                                   {"minutes", s.minutes},
                                   {"history", s.history}});
  out.summary_path = (fs::path(out_dir) / "students.json").string();
  if (root) write_file_atomic(out.summary_path, summary.dump(2) + "\n");
  return out;
}

}  // namespace bb
