// bitbench train: the full-precision teacher from a config.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/interrupt.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "eval/teacher.hpp"

namespace bb::cli {
namespace {

struct TrainArgs {
  std::string config = "configs/fashion_mnist_teacher.json", out;
  bool resume = false;
};

int run_train(const TrainArgs& a) {
  RunConfig cfg = load_run_config(a.config);
  apply_config_threads(cfg.threads);  // the command line's --threads wins
  std::string out = a.out.empty() ? (std::filesystem::path("runs") / cfg.name / "teacher").string() : a.out;
  install_interrupt_handler();
  Timer t;
  TrainOutcome r = train_teacher(cfg, out, a.resume);
  if (!comm::is_root()) return r.interrupted ? 130 : 0;  // under mpirun: rank 0 reports
  if (r.interrupted) {
    std::fprintf(stderr,
                 "interrupted after step %lld; state saved in %s/checkpoint.safetensors\n"
                 "resume with: bitbench train --config %s --out %s --resume\n",
                 static_cast<long long>(r.steps), out.c_str(), a.config.c_str(), out.c_str());
    return 130;
  }
  const EpochRecord* last = r.history.empty() ? nullptr : &r.history.back();
  std::printf("teacher     %s\n", r.final_path.c_str());
  if (last)
    std::printf("top-1       %.2f%% (best %.2f%%), top-5 %.2f%%\n", last->eval_top1, r.best_top1, last->eval_top5);
  std::printf("time        %.1f min, %lld steps, %.0f train images/s (last epoch)\n", t.seconds() / 60,
              static_cast<long long>(r.steps), last ? last->images_per_sec : 0.0);
  return 0;
}

}  // namespace

void add_train_commands(CLI::App& app) {
  static TrainArgs a;
  auto* t = app.add_subcommand("train", "Train the full-precision ViT teacher from a config (Ctrl-C saves and stops)");
  t->add_option("--config", a.config, "Config file")->capture_default_str();
  t->add_option("--out", a.out, "Output folder (default runs/<config name>/teacher)");
  t->add_flag("--resume", a.resume, "Continue from <out>/checkpoint.safetensors");
  t->callback([] {
    int rc = run_train(a);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace bb::cli
