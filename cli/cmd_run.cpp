// bitbench run | report | compare: the config-driven benchmark and its reports.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/interrupt.hpp"
#include "core/threads.hpp"
#include "eval/pipeline.hpp"
#include "reports/report.hpp"

namespace bb::cli {
namespace {

namespace fs = std::filesystem;

struct RunArgs {
  std::string config = "configs/default.json", out, export_zoo, data_dir, teacher;
  bool quick = false, from_scratch = false, distill = false, no_table = false;
};

std::string g_command_line;

int run_run(const RunArgs& a) {
  BenchConfig cfg = load_bench_config(a.config);
  if (!a.data_dir.empty()) {
    if (!fs::is_directory(a.data_dir)) throw Error::input(a.data_dir, "--data-dir is not a folder");
    cfg.run.data.dataset.data_dir = a.data_dir;
  }
  if (!a.teacher.empty()) cfg.teacher_checkpoint = a.teacher;
  RunOptions o;
  o.data_dir = a.data_dir;
  o.out_dir = a.out.empty() ? (fs::path("runs") / (cfg.run.name + (a.quick ? "_quick" : ""))).string() : a.out;
  if (fs::exists(o.out_dir) && !fs::is_directory(o.out_dir)) throw Error::usage("--out " + o.out_dir + " is a file, not a folder");
  o.quick = a.quick;
  o.from_scratch = a.from_scratch;
  o.distill = a.distill;
  o.command_line = g_command_line;
  o.export_zoo = a.export_zoo;
  o.progress = true;
  install_interrupt_handler();
  o.banner = "bitbench run " + a.config + (a.quick ? " (quick)" : "") + (a.from_scratch ? " (from scratch)" : "") +
             (a.distill ? " (students distilled)" : "") +
             " -> " + o.out_dir;
  RunOutcome r = run_benchmark(cfg, o);
  if (r.interrupted) return 130;
  if (!comm::is_root()) return 0;  // under mpirun: rank 0 wrote the report
  if (!a.no_table) {
    const std::string md = render_markdown(r.report);
    std::cout << md.substr(0, md.find("\n## ")) << "\n";  // the results table, without the detail sections
  }
  std::printf("report: %s/report.html (also report.json, report.md, results.csv)\n", o.out_dir.c_str());
  return 0;
}

struct ReportArgs {
  std::string dir;
};

void run_report(const ReportArgs& a) {
  const std::string json = (fs::path(a.dir) / "report.json").string();
  if (!fs::is_directory(a.dir)) throw Error::input(a.dir, "is not a run folder");
  auto r = read_report(json);
  write_report_files(r, a.dir, false);
  std::printf("re-rendered %s/report.md, results.csv, report.html from report.json\n", a.dir.c_str());
}

struct CompareArgs {
  std::string a, b;
  double max_top1_drop = -1, max_slowdown = -1;
};

int run_compare(const CompareArgs& c) {
  auto ra = read_report(c.a), rb = read_report(c.b);
  Comparison cmp = compare_reports(ra, rb, c.max_top1_drop, c.max_slowdown);
  std::printf("A: %s\nB: %s\n\n", c.a.c_str(), c.b.c_str());
  for (const std::string& line : cmp.caveats) std::printf("Caveat: %s\n", line.c_str());
  std::printf("\n%s", cmp.text.c_str());
  if (cmp.crossed) {
    std::fprintf(stderr, "bitbench compare: a threshold was crossed (see the verdict column)\n");
    return 3;
  }
  return 0;
}

}  // namespace

void add_run_commands(CLI::App& app, int argc, char** argv) {
  for (int i = 0; i < argc; ++i) g_command_line += (i ? " " : "") + std::string(argv[i]);
  static RunArgs r;
  auto* run = app.add_subcommand("run", "The benchmark: teacher, students and baselines on every backend -> accuracy, "
                                        "memory and latency reports (report.json/.md/.html, results.csv)");
  run->add_option("CONFIG", r.config, "Benchmark config")->capture_default_str();
  run->add_option("--out", r.out, "Run folder (default runs/<config name>); finished stages there are reused");
  run->add_flag("--quick", r.quick, "Smoke run: 1 000 eval images, short latency runs (and 1 epoch where it trains)");
  run->add_flag("--from-scratch", r.from_scratch, "Train the teacher and distill the students even where the config ships checkpoints");
  run->add_option("--data-dir", r.data_dir, "The data set's folder (overrides the config and its recipes)");
  run->add_option("--teacher", r.teacher, "Teacher checkpoint (overrides /teacher/checkpoint), e.g. a timm DeiT in safetensors; "
                                          "shipped students distilled from another teacher are refused (see --distill)");
  run->add_flag("--distill", r.distill, "Distil the config's students (/students/distill) from the teacher in use instead "
                                        "of using its shipped student files");
  run->add_option("--export-zoo", r.export_zoo, "After a --from-scratch run: write its checkpoints, tagged, into this folder");
  run->add_flag("--no-table", r.no_table, "Do not print the results table");
  run->callback([] {
    int rc = run_run(r);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  static ReportArgs rep;
  auto* report = app.add_subcommand("report", "Re-render report.md, results.csv and report.html from a run folder's report.json");
  report->add_option("RUN_DIR", rep.dir, "Run folder")->required();
  report->callback([] { run_report(rep); });

  static CompareArgs c;
  auto* cmp = app.add_subcommand("compare", "Side-by-side deltas of two report.json files; exit code 3 when a threshold is crossed");
  cmp->add_option("A", c.a, "Baseline report.json")->required();
  cmp->add_option("B", c.b, "Candidate report.json")->required();
  cmp->add_option("--max-top1-drop", c.max_top1_drop, "Fail when a model's top-1 drops by more than this many points")
      ->check(CLI::NonNegativeNumber);
  cmp->add_option("--max-slowdown", c.max_slowdown, "Fail when a model's batch-1 p50 latency grows by more than this percent")
      ->check(CLI::NonNegativeNumber);
  cmp->callback([] {
    int rc = run_compare(c);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace bb::cli
