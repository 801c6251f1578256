// Nothing lost: `bitbench train`, `distill` and `run` killed with SIGKILL at
// random moments (seeded, several per command), then started again — with
// --resume where the command has one, as its interrupt message says. After
// every kill each finished file on disk must be whole (parses completely); at
// the end the final checkpoints and report figures must equal those of an
// uninterrupted run. And a disk that fills up mid-write (injected ENOSPC) gives
// one clear error and keeps the previous checkpoint.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/npy.hpp"
#include "datasets/fixtures.hpp"
#include "models/safetensors.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

namespace fs = std::filesystem;

// Runs bitbench to completion; returns its wall time in seconds.
double run_ok(const std::string& args) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = test::run_bitbench(args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Starts bitbench, sends SIGKILL after `delay` seconds; true when the kill
// landed (the process was still running), false when it finished first.
bool run_killed(const std::string& args, double delay, const std::string& scratch) {
  const std::string rc = scratch + "/rc";
  const std::string script = "BITBENCH_PROGRESS=off " + std::string(BITBENCH_EXE) + " " + args + " >/dev/null 2>" +
                             scratch + "/stderr & pid=$!; sleep " + std::to_string(delay) +
                             "; kill -KILL $pid 2>/dev/null; wait $pid; echo $? >" + rc;
  EXPECT_EQ(std::system(("sh -c '" + script + "'").c_str()), 0);
  const int code = std::stoi(test::read_text(rc));
  EXPECT_TRUE(code == 137 || code == 0) << "exit " << code << ": " << test::read_text(scratch + "/stderr");
  return code == 137;
}

// Every finished file below dir parses completely: a killed writer may leave a
// "<file>.tmp.<pid>" (removed by the next start), never a truncated file.
void expect_all_whole(const std::string& dir) {
  if (!fs::exists(dir)) return;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string p = e.path().string(), name = e.path().filename().string();
    if (name.find(".tmp.") != std::string::npos || name == ".bitbench.lock") continue;
    SCOPED_TRACE(p);
    const std::string ext = e.path().extension().string();
    if (ext == ".safetensors") {
      EXPECT_NO_THROW(SafetensorsFile::read(p));
    } else if (ext == ".json") {
      EXPECT_TRUE(nlohmann::json::accept(test::read_text(p)));
    } else if (ext == ".npy") {
      EXPECT_NO_THROW(read_npy(p));
    }
  }
}

void expect_no_temporaries(const std::string& dir) {
  for (const auto& f : test::list_files(dir)) EXPECT_EQ(f.find(".tmp."), std::string::npos) << f;
}

// History without its timings (seconds, images/s, forward/backward/optimizer s).
nlohmann::json history_figures(const std::string& path) {
  nlohmann::json h = nlohmann::json::parse(test::read_text(path));
  for (auto& r : h)
    for (const char* k : {"seconds", "images_per_sec", "forward_s", "backward_s", "optimizer_s"}) r.erase(k);
  return h;
}

// Kills `args` `kills` times at seeded random moments within the uninterrupted
// run's duration, checking the files after each, then lets it finish.
// resume_args(): the arguments of the next start.
void kill_and_resume(const std::function<std::string()>& resume_args, double full_seconds, int kills, uint32_t seed,
                     const std::string& watch_dir, const std::string& scratch) {
  std::mt19937 rng(seed);
  // Moments within the first 15 % of an uninterrupted run's time: each start
  // resumes with less work left, and under load (ctest -j) the reference run
  // may have taken twice as long as this one will.
  std::uniform_real_distribution<double> when(0.03, 0.15);
  int landed = 0;
  for (int k = 0; k < kills; ++k) {
    const double delay = when(rng) * full_seconds;
    const bool killed = run_killed(resume_args(), delay, scratch);
    SCOPED_TRACE("kill " + std::to_string(k) + " after " + std::to_string(delay) + " s");
    expect_all_whole(watch_dir);
    if (!killed) break;
    ++landed;
  }
  // The test did its work only if the kills landed mid-run.
  EXPECT_GE(landed, 3) << "the command finished before most kills (uninterrupted run took " << full_seconds << " s)";
  run_ok(resume_args());
  expect_all_whole(watch_dir);
  expect_no_temporaries(watch_dir);
}

std::string mnist_data(const test::TempDir& d) {
  write_mnist_fixture(d / "m", 960, 100, false, 12);
  return R"("dataset": {"name": "mnist", "data_dir": ")" + (d / "m") + R"("}, "transform": {"img_size": 12})";
}

std::string teacher_config(const test::TempDir& d, const std::string& data, int checkpoint_every = 4) {
  test::write_text(d / "teacher.json", "{\"name\": \"t\", " + data + R"(,
    "model": {"img_size": 12, "patch_size": 4, "embed_dim": 16, "depth": 1, "num_heads": 2, "mlp_hidden": 32},
    "train": {"epochs": 3, "checkpoint_every": )" + std::to_string(checkpoint_every) + R"(}, "loader": {"batch_size": 16}})");
  return d / "teacher.json";
}

std::string students_config(const test::TempDir& d, const std::string& data) {
  test::write_text(d / "students.json", "{\"name\": \"s\", " + data + R"(, "loader": {"batch_size": 16},
    "train": {"epochs": 2, "checkpoint_every": 4},
    "students": [{"quant": {"spec": "W1.58A8"}}, {"quant": {"spec": "W1A8"}}]})");
  return d / "students.json";
}

TEST(Crash, TrainKilledAtRandomMomentsResumesToTheSameTeacher) {
  test::TempDir d;
  const std::string cfg = teacher_config(d, mnist_data(d)), ref = d / "ref", cut = d / "cut";
  const double full = run_ok("train --config " + cfg + " --out " + ref);
  kill_and_resume(
      [&] {
        return "train --config " + cfg + " --out " + cut + (fs::exists(cut + "/checkpoint.safetensors") ? " --resume" : "");
      },
      full, 6, 11, cut, d.str());
  EXPECT_EQ(test::tensor_bytes(ref + "/teacher.safetensors"), test::tensor_bytes(cut + "/teacher.safetensors"));
  EXPECT_EQ(test::tensor_bytes(ref + "/best.safetensors"), test::tensor_bytes(cut + "/best.safetensors"));
  EXPECT_EQ(history_figures(ref + "/history.json"), history_figures(cut + "/history.json"));
}

TEST(Crash, DistillKilledAtRandomMomentsResumesToTheSameStudents) {
  test::TempDir d;
  const std::string data = mnist_data(d), teacher = d / "t/teacher.safetensors";
  run_ok("train --config " + teacher_config(d, data) + " --out " + (d / "t"));
  const std::string cfg = students_config(d, data), ref = d / "ref", cut = d / "cut";
  const std::string args = "distill --config " + cfg + " --teacher " + teacher + " --out ";
  const double full = run_ok(args + ref);
  kill_and_resume([&] { return args + cut + (fs::exists(cut) ? " --resume" : ""); }, full, 6, 12, cut, d.str());
  for (const char* s : {"student_w1.58a8", "student_w1a8"}) {
    SCOPED_TRACE(s);
    for (const std::string& f : {std::string(s) + ".safetensors", std::string(s) + ".packed.safetensors"})
      EXPECT_EQ(test::tensor_bytes(ref + "/" + s + "/" + f), test::tensor_bytes(cut + "/" + s + "/" + f)) << f;
    EXPECT_EQ(history_figures(ref + "/" + s + "/history.json"), history_figures(cut + "/" + s + "/history.json"));
  }
}

// The report's figures (accuracy, confusion, fidelity, parameter counts, bits
// and bytes in memory) without what is measured afresh each time (latency,
// peak RSS, timings, stage statuses, dates) or moves with it (file sizes).
nlohmann::json report_figures(const std::string& path) {
  nlohmann::json r = nlohmann::json::parse(test::read_text(path)), out = nlohmann::json::array();
  for (const auto& m : r["models"]) {
    nlohmann::json f = {{"name", m["name"]}, {"backend", m["backend"]}, {"accuracy", m["accuracy"]}};
    // Keys report.json has (the schema requires them): a missing one fails
    // here instead of being compared as absent on both sides. Bytes on disk
    // are left out: a checkpoint's metadata carries its training history with
    // timings, so its file size moves with them (the tensors' bytes are
    // compared by the distill test above).
    for (const char* k : {"precision", "params", "quantized_params", "bits_per_weight", "weight_bytes", "size_bytes"})
      EXPECT_TRUE(m.contains(k)) << path << ": model " << m["name"] << " has no " << k;
    for (const char* k : {"precision", "params", "quantized_params"}) f[k] = m.value(k, nlohmann::json());
    if (m.contains("weight_bytes")) f["memory_bytes"] = m["weight_bytes"].value("memory", nlohmann::json());
    if (m.contains("bits_per_weight"))
      for (const char* k : {"nominal", "quantized_layers_memory", "model_memory"})
        f[std::string("bits_") + k] = m["bits_per_weight"].value(k, nlohmann::json());
    if (m["role"] != "teacher") {
      EXPECT_TRUE(m.contains("fidelity")) << path << ": model " << m["name"] << " has no fidelity";
      f["fidelity"] = m.value("fidelity", nlohmann::json());
    }
    if (m.contains("history")) {
      nlohmann::json h = m["history"];
      for (auto& e : h)
        for (const char* k : {"seconds", "images_per_sec", "forward_s", "backward_s", "optimizer_s"}) e.erase(k);
      f["history"] = h;
    }
    out.push_back(f);
  }
  return out;
}

TEST(Crash, RunKilledAtRandomMomentsResumesToTheSameReport) {
  test::TempDir d;
  const std::string data = mnist_data(d);
  teacher_config(d, data);
  students_config(d, data);
  test::write_text(d / "bench.json", "{\"name\": \"tiny\", " + data + R"(, "loader": {"eval_batch_size": 32, "workers": 0},
    "teacher": {"train": "teacher.json"}, "students": {"distill": "students.json", "backends": ["bitkernels"]},
    "latency": {"batch_sizes": [1], "threads": [1], "warmup": 1, "rounds": 3, "min_seconds": 0.03}})");
  const std::string ref = d / "ref", cut = d / "cut";
  const double full = run_ok("run " + (d / "bench.json") + " --out " + ref + " --no-table");
  kill_and_resume([&] { return "run " + (d / "bench.json") + " --out " + cut + " --no-table"; }, full, 6, 13, cut,
                  d.str());
  EXPECT_EQ(report_figures(ref + "/report.json"), report_figures(cut + "/report.json"));
  for (const char* f : {"report.md", "results.csv", "report.html"}) EXPECT_TRUE(fs::exists(cut + "/" + f)) << f;
}

// A disk that fills up while the second epoch's checkpoint is written: one
// error line naming the file and ENOSPC, exit 1, and the first epoch's
// checkpoint still whole on disk, from which the run then resumes.
TEST(Crash, FullDiskKeepsThePreviousCheckpoint) {
  test::TempDir d;
  const std::string cfg = teacher_config(d, mnist_data(d), 0), out = d / "out";
  // One epoch's files: checkpoint (weights + 2 AdamW moments), best, history.
  run_ok("train --config " + cfg + " --out " + d / "probe");
  const auto ckpt_bytes = fs::file_size(d / "probe/checkpoint.safetensors");
  const auto best_bytes = fs::file_size(d / "probe/best.safetensors");
  // Room for epoch 1's best + history + checkpoint, and half of epoch 2's next write.
  const uint64_t budget = ckpt_bytes + best_bytes + 4096 + best_bytes / 2;
  auto r = test::run_bitbench("train --config " + cfg + " --out " + out,
                              "BITBENCH_PROGRESS=off BITBENCH_FAULT_DISK_FULL_AFTER=" + std::to_string(budget));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // Epoch lines come first; the error is the one last line.
  const std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
  EXPECT_EQ(last.rfind("bitbench: " + out + "/", 0), 0u) << r.err;
  EXPECT_NE(last.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("bitbench: "), r.err.rfind("bitbench: ")) << r.err;
  // The previous checkpoint is whole and says epoch 1 finished.
  SafetensorsFile f = SafetensorsFile::read(out + "/checkpoint.safetensors");
  EXPECT_EQ(nlohmann::json::parse(f.own_metadata().at("state"))["epoch"], 1);
  expect_no_temporaries(out);
  // With room again, the run resumes from it and ends where an uninterrupted one does.
  run_ok("train --config " + cfg + " --out " + out + " --resume");
  run_ok("train --config " + cfg + " --out " + d / "ref");
  EXPECT_EQ(test::tensor_bytes(d / "ref/teacher.safetensors"), test::tensor_bytes(out + "/teacher.safetensors"));
}

}  // namespace
}  // namespace bb
