#include "train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/comm.hpp"
#include "core/dir_lock.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/interrupt.hpp"
#include "core/json_reader.hpp"
#include "core/progress.hpp"
#include "core/timer.hpp"
#include "kernels/backend.hpp"
#include "models/checkpoint.hpp"
#include "models/layers.hpp"
#include "models/safetensors.hpp"
#include "models/vit.hpp"
#include "train/adamw.hpp"

namespace fs = std::filesystem;

namespace bb {

nlohmann::json to_json(const EpochRecord& r) {
  nlohmann::json j = {{"epoch", r.epoch},         {"train_loss", r.train_loss}, {"train_top1", r.train_top1},
                      {"lr", r.lr},               {"images_per_sec", r.images_per_sec}, {"seconds", r.seconds},
                      {"eval_top1", r.eval_top1}, {"eval_top5", r.eval_top5},   {"forward_s", r.forward_s},
                      {"backward_s", r.backward_s}, {"optimizer_s", r.optimizer_s}, {"lr_scale", r.lr_scale}};
  if (r.ranks > 1) {
    j["ranks"] = r.ranks;
    j["allreduce_s"] = r.allreduce_s;
  }
  return j;
}

namespace {

EpochRecord record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.train_loss = j.at("train_loss");
  r.train_top1 = j.at("train_top1");
  r.lr = j.at("lr");
  r.images_per_sec = j.at("images_per_sec");
  r.seconds = j.at("seconds");
  r.eval_top1 = j.at("eval_top1");
  r.eval_top5 = j.at("eval_top5");
  r.forward_s = j.at("forward_s");
  r.backward_s = j.at("backward_s");
  r.optimizer_s = j.at("optimizer_s");
  r.ranks = j.value("ranks", 1);
  r.allreduce_s = j.value("allreduce_s", 0.0);
  r.lr_scale = j.value("lr_scale", 1.0);
  return r;
}

// Sums of the epoch in progress, saved with the state so a resumed epoch reports
// the same figures as an uninterrupted one.
struct Partial {
  double loss_sum = 0, seconds = 0, fwd = 0, bwd = 0, opt = 0, comm = 0;
  int64_t correct = 0, count = 0;
};

std::string checkpoint_path(const std::string& dir) { return (fs::path(dir) / "checkpoint.safetensors").string(); }

}  // namespace

Trainer::Trainer(ViTParams& params, Loader& train_loader, EvalFn eval, TrainerOptions opt)
    : p_(params), loader_(train_loader), eval_(std::move(eval)), o_(std::move(opt)) {}

TrainOutcome Trainer::run() {
  const TrainConfig& tc = o_.train;
  const ViTConfig& cfg = p_.cfg;
  // Data parallel under mpirun: every rank trains the same weights on its
  // slice of each global batch; rank 0 alone writes (and locks) the folder.
  const bool root = comm::is_root(), parallel = comm::size() > 1;
  std::optional<DirLock> lock;
  if (root) {
    make_dirs(o_.out_dir);
    lock.emplace(o_.out_dir);  // one process per training folder
  }
  comm::barrier();  // the folder exists (and is locked) before any rank reads it
  const int64_t steps_per_epoch = loader_.num_batches();
  const int64_t total_steps = steps_per_epoch * tc.epochs;
  const int64_t warmup_steps = std::max<int64_t>(1, std::llround(tc.warmup_epochs * static_cast<double>(steps_per_epoch)));
  AdamW opt(p_.count(), weight_decay_mask(p_));
  TrainOutcome out;
  int epoch0 = 0;
  int64_t batch0 = 0, step = 0;
  Partial part;
  double lr_scale = 1;     // adaptive schedule: plateau reductions so far
  int since_best = 0;      // epochs since the best held-out top-1

  if (o_.resume) {
    const std::string path = checkpoint_path(o_.out_dir);
    if (!fs::exists(path)) throw Error::input(path, "no checkpoint to resume from");
    SafetensorsFile f = SafetensorsFile::read(path);
    auto meta = f.own_metadata();
    if (meta["format"] != "bitbench-train-state") throw Error::input(path, "not a bitbench training checkpoint");
    if (meta["config"] != to_json(cfg).dump())
      throw Error::input(path, "was written for another model config: " + meta["config"]);
    for (const auto& e : p_.entries) {
      const TensorInfo* t = f.find(e.name);
      if (!t || t->numel() != e.numel) throw Error::input(path, "tensor " + e.name + " missing or mis-shaped");
      f.to_f32(*t, p_.data(e));
    }
    for (auto [name, dst] : {std::pair<const char*, std::vector<float>*>{"optimizer.m", &opt.m}, {"optimizer.v", &opt.v}}) {
      const TensorInfo* t = f.find(name);
      if (!t || t->numel() != p_.count()) throw Error::input(path, std::string("tensor ") + name + " missing or mis-shaped");
      f.to_f32(*t, dst->data());
    }
    nlohmann::json st = parse_json_text(meta["state"], path + " (metadata bitbench.state)");
    epoch0 = st.at("epoch");
    batch0 = st.at("batch_in_epoch");
    step = st.at("step");
    opt.t = st.at("adam_t");
    out.best_top1 = st.at("best_top1");
    lr_scale = st.value("lr_scale", 1.0);
    since_best = st.value("since_best", 0);
    const auto& pj = st.at("partial");
    part = {pj.at("loss_sum"), pj.at("seconds"), pj.at("fwd"), pj.at("bwd"), pj.at("opt"), pj.value("comm", 0.0),
            pj.at("correct"), pj.at("count")};
    for (const auto& r : parse_json_text(meta["history"], path + " (metadata bitbench.history)")) out.history.push_back(record_from_json(r));
    if (st.at("steps_per_epoch") != steps_per_epoch)
      throw Error::input(path, "was written with " + st.at("steps_per_epoch").dump() + " steps per epoch, this run has " +
                                   std::to_string(steps_per_epoch) + " (batch size or data changed)");
  }

  auto history_json = [&] {
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& r : out.history) hist.push_back(to_json(r));
    return hist;
  };
  auto save_state = [&](int epoch, int64_t batch_in_epoch) {
    if (!root) return;
    std::vector<TensorToWrite> t;
    for (const auto& e : p_.entries) t.push_back({e.name, e.shape, DType::F32, p_.data(e)});
    t.push_back({"optimizer.m", {p_.count()}, DType::F32, opt.m.data()});
    t.push_back({"optimizer.v", {p_.count()}, DType::F32, opt.v.data()});
    nlohmann::json st = {{"epoch", epoch},
                         {"batch_in_epoch", batch_in_epoch},
                         {"step", step},
                         {"adam_t", opt.t},
                         {"best_top1", out.best_top1},
                         {"lr_scale", lr_scale},
                         {"since_best", since_best},
                         {"steps_per_epoch", steps_per_epoch},
                         {"partial",
                          {{"loss_sum", part.loss_sum}, {"seconds", part.seconds}, {"fwd", part.fwd}, {"bwd", part.bwd},
                           {"opt", part.opt}, {"comm", part.comm}, {"correct", part.correct}, {"count", part.count}}}};
    std::map<std::string, std::string> meta = o_.metadata;
    meta["format"] = "bitbench-train-state";
    meta["config"] = to_json(cfg).dump();
    if (o_.plan) meta["quant"] = to_json(*o_.plan).dump();
    meta["num_heads"] = std::to_string(cfg.num_heads);
    meta["state"] = st.dump();
    meta["history"] = history_json().dump();
    write_safetensors(checkpoint_path(o_.out_dir), t, namespaced_metadata(meta));
  };
  auto weights_meta = [&](const std::string& kind) {
    std::map<std::string, std::string> meta = o_.metadata;
    meta["history"] = history_json().dump();
    meta["weights"] = kind;
    if (o_.plan) meta["quant"] = to_json(*o_.plan).dump();
    if (!out.history.empty()) meta["metrics"] = to_json(out.history.back()).dump();
    return meta;
  };

  auto backend = make_backend(tc.backend);
  ViTRunner model(p_, *backend, /*training=*/true, o_.plan);
  std::vector<float> grads(static_cast<size_t>(p_.count()));
  CrossEntropyObjective ce(static_cast<float>(tc.label_smoothing));
  Objective& objective = o_.objective ? *o_.objective : ce;
  StepGrads sg;
  const int K = cfg.num_classes;

  for (int epoch = epoch0; epoch < tc.epochs; ++epoch) {
    const int64_t first = epoch == epoch0 ? batch0 : 0;
    if (epoch != epoch0 || batch0 == 0) part = Partial{};
    loader_.start_epoch(epoch, first);
    std::unique_ptr<Progress> bar;
    if (o_.progress && root)
      bar = std::make_unique<Progress>("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(tc.epochs),
                                       loader_.num_samples(), "img");
    if (bar) bar->advance(std::min<int64_t>(first * loader_.num_samples() / std::max<int64_t>(1, steps_per_epoch), loader_.num_samples()));
    // The rate of the last step taken: an epoch resumed after its last step
    // (killed between that step's checkpoint and the epoch's end) runs no
    // batch, and its record must still say the rate its final step used.
    double lr = step > 0 ? lr_scale * learning_rate(tc, step - 1, warmup_steps, total_steps) : 0;
    Timer epoch_timer;
    const double seconds_before = part.seconds;
    while (const Batch* b = loader_.next()) {
      const int64_t B = b->size();  // this rank's slice (the whole batch on one process)
      Timer t;
      // [loss · B, correct, B, interrupted] of this rank, then of the global batch.
      double stats[4] = {0, 0, static_cast<double>(B), interrupt_requested() ? 1.0 : 0.0};
      std::fill(grads.begin(), grads.end(), 0.0f);
      if (B > 0) {  // a rank's slice of a short last batch may be empty
        TensorView logits = model.forward(b->images);
        const float local_loss = objective.step(*b, model, logits, sg);
        for (int64_t i = 0; i < B; ++i) {
          const float* row = logits.data() + i * K;
          stats[1] += std::max_element(row, row + K) - row == b->labels[static_cast<size_t>(i)];
        }
        stats[0] = static_cast<double>(local_loss) * static_cast<double>(B);
        part.fwd += t.seconds();
        t.reset();
        model.backward(sg.dlogits.data(), grads.data(), sg.has_dist ? sg.dlogits_dist.data() : nullptr,
                       sg.dblock_ptrs.empty() ? nullptr : &sg.dblock_ptrs, sg.dattn_ptrs.empty() ? nullptr : &sg.dattn_ptrs);
        part.bwd += t.seconds();
        t.reset();
      }
      if (parallel) {
        // Each rank's gradient is of its slice's mean loss; the global batch's
        // mean gradient is the B_r / B-weighted sum, reduced with MPI_Allreduce
        // (4 · params + 32 bytes per rank and step).
        t.reset();
        comm::allreduce_sum(stats, 4);
        const float w = static_cast<float>(static_cast<double>(B) / stats[2]);
        for (float& g : grads) g *= w;
        comm::allreduce_sum(grads.data(), p_.count());
        part.comm += t.seconds();
        t.reset();
      }
      const float loss = static_cast<float>(stats[0] / std::max(stats[2], 1.0));
      part.correct += static_cast<int64_t>(stats[1]);
      part.loss_sum += stats[0];
      part.count += static_cast<int64_t>(stats[2]);
      const bool interrupted = stats[3] > 0;  // every rank stops at the same step
      clip_grad_norm(grads.data(), p_.count(), tc.clip_grad);
      lr = lr_scale * learning_rate(tc, step, warmup_steps, total_steps);
      opt.step(p_.flat.data(), grads.data(), lr, tc);
      part.opt += t.seconds();
      ++step;
      part.seconds = seconds_before + epoch_timer.seconds();
      if (bar) bar->advance(B);
      const int64_t done_in_epoch = b->index + 1;
      if (!std::isfinite(loss)) throw Error::runtime(o_.out_dir, "training diverged: loss is " + std::to_string(loss) + " at step " + std::to_string(step));
      if (tc.checkpoint_every > 0 && step % tc.checkpoint_every == 0) save_state(epoch, done_in_epoch);
      if (interrupted) {
        bar.reset();
        save_state(epoch, done_in_epoch);
        comm::barrier();  // no rank leaves before rank 0 has saved
        out.interrupted = true;
        out.steps = step;
        return out;
      }
    }
    if (bar) bar->finish();
    EpochRecord r;
    r.epoch = epoch + 1;
    r.train_loss = part.count ? part.loss_sum / static_cast<double>(part.count) : 0;
    r.train_top1 = part.count ? 100.0 * static_cast<double>(part.correct) / static_cast<double>(part.count) : 0;
    r.lr = lr;
    r.seconds = part.seconds;
    r.images_per_sec = part.seconds > 0 ? static_cast<double>(part.count) / part.seconds : 0;
    r.forward_s = part.fwd;
    r.backward_s = part.bwd;
    r.optimizer_s = part.opt;
    r.ranks = comm::size();
    r.allreduce_s = part.comm;
    EvalScores s = eval_(p_);
    r.eval_top1 = s.top1;
    r.eval_top5 = s.top5;
    r.lr_scale = lr_scale;
    out.history.push_back(r);
    if (root)
      std::fprintf(stderr, "epoch %d/%d  loss %.4f  train top-1 %.2f%%  eval top-1 %.2f%%  top-5 %.2f%%  %.0f img/s  lr %.2e%s\n",
                 r.epoch, tc.epochs, r.train_loss, r.train_top1, r.eval_top1, r.eval_top5, r.images_per_sec, r.lr,
                 parallel ? ("  (" + std::to_string(r.ranks) + " ranks, allreduce " + std::to_string(r.allreduce_s).substr(0, 5) +
                             " s, " + std::to_string(p_.count() * 4 / 1024) + " KiB/step)").c_str()
                          : "");
    if (s.top1 > out.best_top1 || out.history.size() == 1) {
      out.best_top1 = std::max(out.best_top1, s.top1);
      since_best = 0;
      if (root) save_vit((fs::path(o_.out_dir) / "best.safetensors").string(), p_, weights_meta("best"));
    } else {
      ++since_best;
    }
    // Adaptive schedule: lower the rate on a plateau, stop when nothing improves.
    bool stop = false;
    if (tc.early_stop_patience > 0 && since_best >= tc.early_stop_patience) {
      stop = true;
      std::fprintf(stderr, "early stop: no better held-out top-1 for %d epochs (best %.2f%%)\n", since_best, out.best_top1);
    } else if (tc.plateau_patience > 0 && since_best > 0 && since_best % tc.plateau_patience == 0) {
      lr_scale *= tc.plateau_factor;
      std::fprintf(stderr, "plateau: learning rate x%.3g from the next epoch\n", lr_scale);
    }
    if (root) write_file_atomic((fs::path(o_.out_dir) / "history.json").string(), history_json().dump(2) + "\n");
    part = Partial{};
    save_state(stop ? tc.epochs : epoch + 1, 0);
    if (stop) {
      out.stopped_early = true;
      break;
    }
  }
  out.steps = step;
  out.final_path = (fs::path(o_.out_dir) / (o_.final_name + ".safetensors")).string();
  if (root) save_vit(out.final_path, p_, weights_meta("final"));
  comm::barrier();  // the final file exists before any rank reports it
  return out;
}

}  // namespace bb
