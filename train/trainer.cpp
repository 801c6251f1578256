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
#include "models/quant_plan_json.hpp"
#include "models/vit.hpp"
#include "train/adamw.hpp"

namespace fs = std::filesystem;

namespace bb {

namespace {

std::string checkpoint_path(const std::string& dir) { return (fs::path(dir) / "checkpoint.safetensors").string(); }

// One call of Trainer::run: the folder, the optimizer, the state and the
// runner, with the loop's steps as methods.
class TrainingRun {
 public:
  TrainingRun(ViTParams& p, Loader& loader, const EvalFn& eval, const TrainerOptions& o)
      : p_(p), loader_(loader), eval_(eval), o_(o), tc_(o.train),
        steps_per_epoch_(loader.num_batches()),
        total_steps_(steps_per_epoch_ * tc_.epochs),
        warmup_steps_(std::max<int64_t>(1, std::llround(tc_.warmup_epochs * static_cast<double>(steps_per_epoch_)))),
        opt_(p.count(), weight_decay_mask(p)),
        backend_(make_backend(tc_.backend)),
        model_(p, *backend_, /*training=*/true, o.plan),
        grads_(static_cast<size_t>(p.count())),
        ce_(static_cast<float>(tc_.label_smoothing)),
        objective_(o.objective ? *o.objective : ce_) {}

  TrainOutcome run() {
    open_folder();
    if (o_.resume) s_ = TrainingState::load(checkpoint_path(o_.out_dir), p_, opt_, steps_per_epoch_);
    TrainOutcome out;
    while (s_.epoch < tc_.epochs) {
      if (!train_epoch()) {
        out.interrupted = true;
        return outcome(out);
      }
      if (close_epoch()) {
        out.stopped_early = true;
        break;
      }
    }
    out.final_path = (fs::path(o_.out_dir) / (o_.final_name + ".safetensors")).string();
    if (root_) save_vit(out.final_path, p_, weights_meta("final"));
    comm::barrier();  // the final file exists before any rank reports it
    return outcome(out);
  }

 private:
  // Data parallel under mpirun: every rank trains the same weights on its
  // slice of each global batch; rank 0 alone writes (and locks) the folder.
  void open_folder() {
    if (root_) {
      make_dirs(o_.out_dir);
      lock_.emplace(o_.out_dir);  // one process per training folder
    }
    comm::barrier();  // the folder exists (and is locked) before any rank reads it
  }

  TrainOutcome& outcome(TrainOutcome& out) const {
    out.history = s_.history;
    out.steps = s_.step;
    out.best_top1 = s_.best_top1;
    return out;
  }

  // The epoch s_.epoch from its batch s_.batch_in_epoch on; false when an
  // interrupt stopped it (the state is saved then).
  bool train_epoch() {
    const int64_t first = s_.batch_in_epoch;
    if (first == 0) s_.sums = EpochSums{};
    loader_.start_epoch(s_.epoch, first);
    std::unique_ptr<Progress> bar;
    if (o_.progress && root_)
      bar = std::make_unique<Progress>("epoch " + std::to_string(s_.epoch + 1) + "/" + std::to_string(tc_.epochs),
                                       loader_.num_samples(), "img");
    if (bar) bar->advance(std::min<int64_t>(first * loader_.num_samples() / std::max<int64_t>(1, steps_per_epoch_), loader_.num_samples()));
    // The rate of the last step taken: an epoch resumed after its last step
    // (killed between that step's checkpoint and the epoch's end) runs no
    // batch, and its record must still say the rate its final step used.
    lr_ = s_.step > 0 ? s_.lr_scale * learning_rate(tc_, s_.step - 1, warmup_steps_, total_steps_) : 0;
    Timer epoch_timer;
    const double seconds_before = s_.sums.seconds;
    while (const Batch* b = loader_.next()) {
      const bool interrupted = train_batch(*b);
      s_.sums.seconds = seconds_before + epoch_timer.seconds();
      if (bar) bar->advance(b->size());
      s_.batch_in_epoch = b->index + 1;
      if (tc_.checkpoint_every > 0 && s_.step % tc_.checkpoint_every == 0) save_state();
      if (interrupted) {
        bar.reset();
        save_state();
        comm::barrier();  // no rank leaves before rank 0 has saved
        return false;
      }
    }
    if (bar) bar->finish();
    return true;
  }

  // Forward, backward, (allreduce,) clip and one AdamW step; true when an
  // interrupt was requested on any rank (every rank stops at the same step).
  bool train_batch(const Batch& b) {
    const int64_t B = b.size();  // this rank's slice (the whole batch on one process)
    const int K = p_.cfg.num_classes;
    EpochSums& part = s_.sums;
    Timer t;
    // [loss · B, correct, B, interrupted] of this rank, then of the global batch.
    double stats[4] = {0, 0, static_cast<double>(B), interrupt_requested() ? 1.0 : 0.0};
    std::fill(grads_.begin(), grads_.end(), 0.0f);
    if (B > 0) {  // a rank's slice of a short last batch may be empty
      TensorView logits = model_.forward(b.images);
      const float local_loss = objective_.step(b, model_, logits, sg_);
      for (int64_t i = 0; i < B; ++i) {
        const float* row = logits.data() + i * K;
        stats[1] += std::max_element(row, row + K) - row == b.labels[static_cast<size_t>(i)];
      }
      stats[0] = static_cast<double>(local_loss) * static_cast<double>(B);
      part.fwd += t.seconds();
      t.reset();
      model_.backward(sg_.dlogits.data(), grads_.data(), sg_.has_dist ? sg_.dlogits_dist.data() : nullptr,
                      sg_.dblock_ptrs.empty() ? nullptr : &sg_.dblock_ptrs, sg_.dattn_ptrs.empty() ? nullptr : &sg_.dattn_ptrs);
      part.bwd += t.seconds();
      t.reset();
    }
    if (comm::size() > 1) {
      // Each rank's gradient is of its slice's mean loss; the global batch's
      // mean gradient is the B_r / B-weighted sum, reduced with MPI_Allreduce
      // (4 · params + 32 bytes per rank and step).
      t.reset();
      comm::allreduce_sum(stats, 4);
      const float w = static_cast<float>(static_cast<double>(B) / stats[2]);
      for (float& g : grads_) g *= w;
      comm::allreduce_sum(grads_.data(), p_.count());
      part.comm += t.seconds();
      t.reset();
    }
    const float loss = static_cast<float>(stats[0] / std::max(stats[2], 1.0));
    part.correct += static_cast<int64_t>(stats[1]);
    part.loss_sum += stats[0];
    part.count += static_cast<int64_t>(stats[2]);
    clip_grad_norm(grads_.data(), p_.count(), tc_.clip_grad);
    lr_ = s_.lr_scale * learning_rate(tc_, s_.step, warmup_steps_, total_steps_);
    opt_.step(p_.flat.data(), grads_.data(), lr_, tc_);
    part.opt += t.seconds();
    ++s_.step;
    if (!std::isfinite(loss))
      throw Error::runtime(o_.out_dir, "training diverged: loss is " + std::to_string(loss) + " at step " + std::to_string(s_.step));
    return stats[3] > 0;
  }

  // After an epoch's batches: its record (held-out scores included), the best
  // weights, the adaptive schedule, history.json and the state. True: stop early.
  bool close_epoch() {
    const EpochRecord r = epoch_record(eval_(p_));
    s_.history.push_back(r);
    if (root_) print_epoch(r);
    if (r.eval_top1 > s_.best_top1 || s_.history.size() == 1) {
      s_.best_top1 = std::max(s_.best_top1, r.eval_top1);
      s_.since_best = 0;
      if (root_) save_vit((fs::path(o_.out_dir) / "best.safetensors").string(), p_, weights_meta("best"));
    } else {
      ++s_.since_best;
    }
    const bool stop = adapt_schedule();
    if (root_) write_file_atomic((fs::path(o_.out_dir) / "history.json").string(), to_json(s_.history).dump(2) + "\n");
    s_.sums = EpochSums{};
    s_.epoch = stop ? tc_.epochs : s_.epoch + 1;
    s_.batch_in_epoch = 0;
    save_state();
    return stop;
  }

  EpochRecord epoch_record(const EvalScores& s) const {
    const EpochSums& part = s_.sums;
    EpochRecord r;
    r.epoch = s_.epoch + 1;
    r.train_loss = part.count ? part.loss_sum / static_cast<double>(part.count) : 0;
    r.train_top1 = part.count ? 100.0 * static_cast<double>(part.correct) / static_cast<double>(part.count) : 0;
    r.lr = lr_;
    r.seconds = part.seconds;
    r.images_per_sec = part.seconds > 0 ? static_cast<double>(part.count) / part.seconds : 0;
    r.forward_s = part.fwd;
    r.backward_s = part.bwd;
    r.optimizer_s = part.opt;
    r.ranks = comm::size();
    r.allreduce_s = part.comm;
    r.eval_top1 = s.top1;
    r.eval_top5 = s.top5;
    r.lr_scale = s_.lr_scale;
    return r;
  }

  void print_epoch(const EpochRecord& r) const {
    std::fprintf(stderr, "epoch %d/%d  loss %.4f  train top-1 %.2f%%  eval top-1 %.2f%%  top-5 %.2f%%  %.0f img/s  lr %.2e%s\n",
                 r.epoch, tc_.epochs, r.train_loss, r.train_top1, r.eval_top1, r.eval_top5, r.images_per_sec, r.lr,
                 comm::size() > 1 ? ("  (" + std::to_string(r.ranks) + " ranks, allreduce " + std::to_string(r.allreduce_s).substr(0, 5) +
                                     " s, " + std::to_string(p_.count() * 4 / 1024) + " KiB/step)").c_str()
                                  : "");
  }

  // Adaptive schedule: lower the rate on a plateau; true when nothing improved for long enough.
  bool adapt_schedule() {
    if (tc_.early_stop_patience > 0 && s_.since_best >= tc_.early_stop_patience) {
      std::fprintf(stderr, "early stop: no better held-out top-1 for %d epochs (best %.2f%%)\n", s_.since_best, s_.best_top1);
      return true;
    }
    if (tc_.plateau_patience > 0 && s_.since_best > 0 && s_.since_best % tc_.plateau_patience == 0) {
      s_.lr_scale *= tc_.plateau_factor;
      std::fprintf(stderr, "plateau: learning rate x%.3g from the next epoch\n", s_.lr_scale);
    }
    return false;
  }

  void save_state() const {
    if (!root_) return;
    std::map<std::string, std::string> meta = o_.metadata;
    if (o_.plan) meta["quant"] = to_json(*o_.plan).dump();
    s_.save(checkpoint_path(o_.out_dir), p_, opt_, steps_per_epoch_, std::move(meta));
  }

  std::map<std::string, std::string> weights_meta(const std::string& kind) const {
    std::map<std::string, std::string> meta = o_.metadata;
    meta["history"] = to_json(s_.history).dump();
    meta["weights"] = kind;
    if (o_.plan) meta["quant"] = to_json(*o_.plan).dump();
    if (!s_.history.empty()) meta["metrics"] = to_json(s_.history.back()).dump();
    return meta;
  }

  ViTParams& p_;
  Loader& loader_;
  const EvalFn& eval_;
  const TrainerOptions& o_;
  const TrainConfig& tc_;
  const bool root_ = comm::is_root();
  std::optional<DirLock> lock_;
  const int64_t steps_per_epoch_, total_steps_, warmup_steps_;
  AdamW opt_;
  std::unique_ptr<Backend> backend_;
  ViTRunner model_;
  std::vector<float> grads_;
  CrossEntropyObjective ce_;
  Objective& objective_;
  StepGrads sg_;
  TrainingState s_;
  double lr_ = 0;  // the rate of the last step taken
};

}  // namespace

Trainer::Trainer(ViTParams& params, Loader& train_loader, EvalFn eval, TrainerOptions opt)
    : p_(params), loader_(train_loader), eval_(std::move(eval)), o_(std::move(opt)) {}

TrainOutcome Trainer::run() { return TrainingRun(p_, loader_, eval_, o_).run(); }

}  // namespace bb
