#pragma once
// `bitbench run`: data set → teacher (shipped or trained) → students (shipped
// or distilled) → baselines → every model × backend evaluated (accuracy,
// fidelity to the teacher, latency, memory) → report.json (+ md/csv/html via
// reports/). Each stage's output lands in <out>/stages/ under a hash of its
// inputs: an unchanged config reuses finished stages, an interrupted run
// resumes where it stopped (training resumes from its checkpoint).
//
// The parts: stage orchestration and cache here; one model's measurement in
// model_eval.hpp (latency in latency_sweep.hpp); report.json in
// report_assembly.hpp; the zoo in zoo_export.hpp; cache keys in stage_cache.hpp.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/dataset_config.hpp"
#include "eval/bench_config.hpp"
#include "eval/stage_cache.hpp"
#include "eval/zoo_export.hpp"

namespace bb {

struct RunOptions {
  std::string out_dir;        // the run folder
  bool from_scratch = false;  // train teacher and students even where the config ships checkpoints
  bool distill = false;       // distil the config's students from the teacher in use instead of using shipped students
  bool quick = false;         // smoke run: 1 000 eval images, short latency runs, 1 epoch where it trains
  bool progress = true;
  std::string command_line;
  std::string export_zoo;     // when set: copy the run's teacher and students there, tagged (models/zoo)
  std::string data_dir;       // when set: the data set's folder for every stage (overrides the configs')
  std::string banner;         // printed to stderr once the inputs passed their checks (so a bad input gives one line)
};

struct RunOutcome {
  nlohmann::ordered_json report;  // empty when interrupted
  bool interrupted = false;
};

RunOutcome run_benchmark(const BenchConfig& cfg, const RunOptions& o);

// Everything a run will read, checked before anything is written (run's
// preflight; `bitbench config check` on a bench config): the teacher and
// student files load, every shipped student was distilled from this teacher
// (its recorded bitbench.teacher_sha256), they name the same classes, the
// recipes parse and the data set opens. Error naming the file otherwise;
// returns warnings (a student that records no teacher).
std::vector<std::string> check_run_inputs(const BenchConfig& cfg, const RunOptions& o);
// The same reading each model file into `files` (a run's: its stages use them, not the files again).
class ModelFiles;
std::vector<std::string> check_run_inputs(const BenchConfig& cfg, const RunOptions& o, ModelFiles& files);

}  // namespace bb
