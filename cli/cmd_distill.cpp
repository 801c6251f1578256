// bitbench distill: BitNet students of a teacher, from a config.
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/interrupt.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "eval/distill.hpp"

namespace bb::cli {
namespace {

struct DistillArgs {
  std::string config = "configs/fashion_mnist_students.json", teacher, out;
  std::vector<std::string> students;
  bool resume = false;
  bool search = false, plan_only = false;  // `bitbench search`
};

int run_distill(const DistillArgs& a) {
  DistillRunConfig cfg = load_distill_config(a.config);
  if (!a.teacher.empty()) cfg.teacher = a.teacher;
  if (a.search) {  // the searched students (or those named), with the stages they start from
    std::vector<std::string> names = a.students;
    if (names.empty())
      for (const StudentConfig& s : cfg.students)
        if (s.search) names.push_back(s.name);
    if (names.empty())
      throw Error::usage(a.config + " has no student with a \"search\" section (see docs/CONFIG.md, \"Mixed precision\")");
    for (const std::string& n : names)
      for (const StudentConfig& s : cfg.students)
        if (s.name == n && !s.search) throw Error::usage("student \"" + n + "\" of " + a.config + " has no \"search\" section");
    select_students(cfg, names);
    cfg.search_only = a.plan_only;
  } else if (!a.students.empty()) {
    select_students(cfg, a.students);
  }
  apply_config_threads(cfg.run.threads);  // the command line's --threads wins
  const std::string out = a.out.empty() ? (std::filesystem::path("runs") / cfg.run.name).string() : a.out;
  install_interrupt_handler();
  Timer t;
  DistillOutcome r = run_distillation(cfg, out, a.resume);
  if (!comm::is_root()) return r.interrupted ? 130 : 0;  // under mpirun: rank 0 reports
  if (r.interrupted) {
    std::string only;
    for (const std::string& n : a.students) only += (only.empty() ? " --students " : ",") + n;
    std::fprintf(stderr,
                 "interrupted; state saved under %s\nresume with: bitbench %s --config %s --out %s --resume%s%s%s\n",
                 out.c_str(), a.search ? "search" : "distill", a.config.c_str(), out.c_str(), a.teacher.empty() ? "" : " --teacher ", a.teacher.c_str(),
                 only.c_str());
    return 130;
  }
  if (a.plan_only) {
    std::printf("plans       %s/<student>/search.json (--plan-only: no searched student trained)\n", out.c_str());
    return 0;
  }
  std::printf("%-24s %-9s %8s %8s %9s %10s %8s %12s\n", "model", "spec", "top-1", "vs fp32", "params", "zeros", "min",
              "packed KiB");
  std::printf("%-24s %-9s %7.2f%% %8s %9lld %10s %8s %12s\n", "teacher", "FP32", r.teacher_top1, "",
              static_cast<long long>(r.teacher_params), "", "", "");
  for (const auto& s : r.students) {
    char zeros[32] = "";
    if (s.ternary_zeros > 0) std::snprintf(zeros, sizeof zeros, "%.1f%%", 100 * s.ternary_zeros);
    std::printf("%-24s %-9s %7.2f%% %+8.2f %9lld %10s %8.1f %12.1f\n", s.name.c_str(), s.spec.c_str(), s.top1,
                s.top1 - r.teacher_top1, static_cast<long long>(s.params), zeros, s.minutes,
                static_cast<double>(s.packed_bytes + s.fp32_bytes) / 1024.0);
  }
  std::printf("summary     %s (%.1f min)\n", r.summary_path.c_str(), t.seconds() / 60);
  return 0;
}

}  // namespace

void add_distill_commands(CLI::App& app) {
  static DistillArgs a;
  auto* d = app.add_subcommand("distill",
                               "Distil BitNet students (W1.58A8, W1A8, ...) from a teacher (Ctrl-C saves and stops)");
  d->add_option("--config", a.config, "Config file")->capture_default_str();
  d->add_option("--teacher", a.teacher, "Teacher checkpoint (overrides the config's \"teacher\")");
  d->add_option("--out", a.out, "Output folder (default runs/<config name>)");
  d->add_flag("--resume", a.resume, "Keep finished students and continue the one in progress");
  d->add_option("--students", a.students,
                "Only these students (comma-separated names), with the earlier chain stages they start from")
      ->delimiter(',');
  d->callback([] {
    int rc = run_distill(a);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  static DistillArgs sa;
  auto* s = app.add_subcommand(
      "search",
      "Mixed precision: measure each block Linear's sensitivity on calibration images of the training split, pick a "
      "cheap per-layer plan within the budget (greedy, verified whole), then distil that student (a config student "
      "with a \"search\" section)");
  s->add_option("--config", sa.config, "Distillation config with a searched student")->required();
  s->add_option("--teacher", sa.teacher, "Teacher checkpoint (overrides the config's \"teacher\")");
  s->add_option("--out", sa.out, "Output folder (default runs/<config name>): <student>/search.json, then the student");
  s->add_flag("--resume", sa.resume, "Keep finished stages and the plan searched before");
  s->add_flag("--plan-only", sa.plan_only,
              "Stop after each search: write search.json, train no searched student (the stages they start from still train)");
  s->add_option("--students", sa.students, "Only these searched students (comma-separated names)")->delimiter(',');
  s->callback([] {
    sa.search = true;
    int rc = run_distill(sa);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace bb::cli
