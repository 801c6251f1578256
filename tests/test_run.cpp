// `bitbench run` end to end on a tiny synthetic data set: every report file
// and the schema (scripts/check_report.sh, which also renders the HTML in
// headless Chromium), reuse of finished stages, resume after Ctrl-C, `report`
// re-rendering, `compare` gating; plus the metrics and latency meters by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include "core/file_io.hpp"
#include "datasets/image_encode.hpp"
#include <regex>

#include "core/dir_lock.hpp"
#include "core/file_io.hpp"
#include "datasets/dataset_config.hpp"
#include "datasets/fixtures.hpp"
#include "eval/precision_search.hpp"
#include "eval/bench_config.hpp"
#include "eval/pipeline.hpp"
#include "eval/projection.hpp"
#include "kernels/quant_format.hpp"
#include "measure/classification_metrics.hpp"
#include "measure/statistics.hpp"
#include "models/safetensors.hpp"
#include "reports/report.hpp"
#include "reports/vega_library.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif

// ---- metrics by hand

TEST(Metrics, TopKConfusionF1AndFidelityByHand) {
  // 4 images, 3 classes. Predictions (argmax): 0, 1, 1, 2; labels 0, 1, 2, 2.
  const float logits[] = {3, 1, 0,  0, 2, 1,  0, 5, 4,  1, 0, 2};
  const int labels[] = {0, 1, 2, 2};
  ClassificationMetrics m = classification_metrics(logits, labels, 4, 3);
  EXPECT_DOUBLE_EQ(m.top1, 75.0);
  EXPECT_DOUBLE_EQ(m.top5, 100.0);
  const std::vector<int64_t> want = {1, 0, 0, 0, 1, 0, 0, 1, 1};
  EXPECT_EQ(m.confusion, want);
  EXPECT_DOUBLE_EQ(m.per_class_accuracy[0], 100.0);
  EXPECT_DOUBLE_EQ(m.per_class_accuracy[2], 50.0);
  // F1: class 0 = 1, class 1 = 2·1/(1+2) = 2/3, class 2 = 2·1/(2+1) = 2/3.
  EXPECT_NEAR(m.macro_f1, 100.0 * (1 + 2.0 / 3 + 2.0 / 3) / 3, 1e-9);
  EXPECT_FALSE(m.has_teacher);
  // Against itself: full agreement, zero KL; against a teacher that disagrees on one image, positive KL.
  ClassificationMetrics self = classification_metrics(logits, labels, 4, 3, logits);
  EXPECT_DOUBLE_EQ(self.agreement, 100.0);
  EXPECT_NEAR(self.kl_teacher, 0.0, 1e-12);
  float other[12];
  std::copy(logits, logits + 12, other);
  other[0] = -3;  // image 0 now predicts class 1
  ClassificationMetrics vs = classification_metrics(logits, labels, 4, 3, other);
  EXPECT_DOUBLE_EQ(vs.agreement, 75.0);
  EXPECT_GT(vs.kl_teacher, 0.0);
}

TEST(Latency, NearestRankPercentiles) {
  std::vector<double> v = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(percentile(v, 50), 3);
  EXPECT_DOUBLE_EQ(percentile(v, 90), 5);
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  std::vector<double> none;
  EXPECT_EQ(percentile(none, 50), 0);
}

TEST(Projection, FormatsOrderTheBytesAndViTBHasItsParameterCount) {
  auto p = weight_memory_projection();
  bool found = false;
  for (const auto& m : p["models"]) {
    const auto& b = m["bytes"];
    EXPECT_GT(b["fp32"].get<double>(), b["W8"].get<double>());
    EXPECT_GT(b["W1.58 (2-bit kernel layout)"].get<double>(), b["W1.58"].get<double>());
    EXPECT_GT(b["W1.58"].get<double>(), b["W1"].get<double>());
    // The format table's scale rule: W1.58r holds one scale per output row, W1.58 one per matrix.
    EXPECT_GT(b["W1.58r"].get<double>(), b["W1.58"].get<double>());
    for (const WeightFormatTraits& t : weight_format_rows())
      EXPECT_TRUE(b.contains(*t.token ? std::string("W") + t.token : std::string(t.name))) << t.name;
    if (m["name"] == "ViT-B/16") {
      found = true;
      EXPECT_NEAR(m["params"].get<double>(), 86.57e6, 0.05e6);  // timm's vit_base_patch16_224
    }
  }
  EXPECT_TRUE(found);
}

// report.html inlines Vega (Debian's libjs-vega, copied into the binary at
// build time): the script can sit in a <script> element as it is.
TEST(Report, VegaLibraryIsInlinedWhole) {
  const std::string& js = vega_library_script();
  std::string lower(js.size(), ' ');
  std::transform(js.begin(), js.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_EQ(lower.find("</script"), std::string::npos);
  EXPECT_EQ(lower.find("<!--"), std::string::npos);
  EXPECT_EQ(lower.find("sourcemappingurl"), std::string::npos);
  EXPECT_GT(js.size(), 300000u);
  for (const char* m : {"vega-util", "vega-dataflow", "vega-scenegraph", "vega-parser", "vega-view", "vega-encode", "vega-selections"})
    EXPECT_NE(js.find(std::string("__bbVegaDefine('") + m + "')"), std::string::npos) << m;
  EXPECT_NE(js.find("window.vega=v"), std::string::npos);
  EXPECT_EQ(script_safe("a</script>b</SCRIPT>c<!--d</div>"), "a<\\/script>b<\\/SCRIPT>c<\\!--d</div>");
}

TEST(BenchConfig, ErrorsNameTheFileAndPath) {
  test::TempDir d;
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {"checkpoints": {"s": 3}}})");
  test::expect_error([&] { load_bench_config(d / "c.json"); }, {"c.json", "/students/checkpoints/s", "file name"});
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {"distill": "s.json"},
                                     "latency": {"batch_sizes": [1, 0]}})");
  test::expect_error([&] { load_bench_config(d / "c.json"); }, {"c.json", "/latency/batch_sizes/1"});
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {"distill": "s.json"},
                                     "scale": {"presets": ["deit_tiny_patch16_224", "deit_huge"]}})");
  test::expect_error([&] { load_bench_config(d / "c.json"); }, {"c.json", "/scale/presets/1", "deit_huge"});
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {"distill": "s.json"},
                                     "scale": {"presets": ["deit_tiny_patch16_224"], "rounds": 2}})");
  test::expect_error([&] { load_bench_config(d / "c.json"); }, {"c.json", "/scale/rounds"});
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {"distill": "s.json"}, "extra": 1})");
  test::expect_error([&] { load_bench_config(d / "c.json"); }, {"c.json", "extra"});
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {"distill": "s.json"}})");
  BenchConfig c = load_bench_config(d / "c.json");
  EXPECT_EQ(c.teacher_checkpoint, d / "t.safetensors");  // relative to the config's folder
  EXPECT_EQ(c.students_distill, d / "s.json");
  // A student's own backends instead of every student's.
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {
      "checkpoints": {"a": "a.safetensors", "b": "b.safetensors"}, "backends": ["bitkernels"],
      "backends_of": {"a": ["bitkernels", "onednn-int8"]}}})");
  c = load_bench_config(d / "c.json");
  EXPECT_EQ(c.backends_of("a"), (std::vector<ModelBackend>{ModelBackend::kBitKernels, ModelBackend::kOnednnInt8}));
  EXPECT_EQ(c.backends_of("b"), std::vector<ModelBackend>{ModelBackend::kBitKernels});
  EXPECT_EQ(to_json(c)["students"]["backends_of"]["a"][1], "onednn-int8");
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {
      "checkpoints": {"a": "a.safetensors"}, "backends_of": {"z": ["bitkernels"]}}})");
  test::expect_error([&] { load_bench_config(d / "c.json"); }, {"c.json", "/students/backends_of/z", "names no student"});
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {
      "checkpoints": {"a": "a.safetensors"}, "backends_of": {"a": ["gpu"]}}})");
  test::expect_error([&] { load_bench_config(d / "c.json"); }, {"c.json", "/students/backends_of/a/0", "gpu"});
}

// ---- the pipeline through the CLI

// A teacher recipe, a one-student distillation recipe and the bench config on a 12×12 synthetic MNIST.
std::string write_fixture(const test::TempDir& d, int student_epochs) {
  write_mnist_fixture(d / "m", 240, 60, false, 12);
  const std::string data = R"("dataset": {"name": "mnist", "data_dir": ")" + (d / "m") + R"("}, "transform": {"img_size": 12})";
  test::write_text(d / "teacher.json", "{\"name\": \"t\", " + data + R"(,
    "model": {"img_size": 12, "patch_size": 4, "embed_dim": 16, "depth": 1, "num_heads": 2, "mlp_hidden": 16},
    "train": {"epochs": 2}, "loader": {"batch_size": 16}})");
  test::write_text(d / "students.json", "{\"name\": \"s\", " + data + R"(, "loader": {"batch_size": 16},
    "train": {"epochs": )" + std::to_string(student_epochs) + R"(, "checkpoint_every": 5},
    "students": [{"quant": {"spec": "W1.58A8"}}]})");
  test::write_text(d / "bench.json", "{\"name\": \"tiny\", " + data + R"(, "loader": {"eval_batch_size": 32, "workers": 0},
    "teacher": {"train": "teacher.json"}, "students": {"distill": "students.json", "backends": ["bitkernels", "fake-quant"]},
    "latency": {"batch_sizes": [1, 4], "threads": [1], "warmup": 1, "rounds": 3, "min_seconds": 0.03}})");
  return d / "bench.json";
}

// Every latency point's thread count, in report order.
std::vector<int> latency_threads(const nlohmann::json& rep) {
  std::vector<int> out;
  for (const auto& m : rep["models"])
    for (const auto& l : m["latency"]) out.push_back(l["threads"].get<int>());
  return out;
}

// One rule for every subcommand: --threads on the command line wins over a
// config's "threads"; without it the config's count holds. It is the count
// the models run with, for accuracy and latency alike: a latency sweep's 0 is
// that count, the points record it and the latency cache is keyed by it.
TEST(CliThreads, CommandLineWinsOverTheConfigInTrainAndRun) {
  test::TempDir d;
  const std::string cfg = write_fixture(d, 1);
  for (const char* f : {"teacher.json", "bench.json"}) {  // "threads": 2 in both configs
    std::string text = test::read_text(d / f);
    text.insert(1, "\"threads\": 2, ");
    test::write_text(d / f, text);
  }
  {  // the latency sweep at the run's count only
    std::string text = test::read_text(d / "bench.json");
    const size_t at = text.find("\"threads\": [1]");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 14, "\"threads\": [0]");
    test::write_text(d / "bench.json", text);
  }
  auto t = test::run_bitbench("--threads 1 train --config " + (d / "teacher.json") + " --out " + (d / "t1"));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.err.find("training t on mnist (1 threads"), std::string::npos) << t.err;
  auto t2 = test::run_bitbench("train --config " + (d / "teacher.json") + " --out " + (d / "t2"));
  ASSERT_EQ(t2.exit_code, 0) << t2.err;
  EXPECT_NE(t2.err.find("training t on mnist (2 threads"), std::string::npos) << t2.err;
  auto r = test::run_bitbench("--threads 1 run " + cfg + " --out " + (d / "run1"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("(1 threads"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("(2 threads"), std::string::npos) << r.err;
  auto rep = nlohmann::json::parse(test::read_text(d / "run1/report.json"));
  EXPECT_EQ(rep["environment"]["threads"], 1);
  EXPECT_EQ(latency_threads(rep), std::vector<int>(8, 1));  // 4 models × 2 batch sizes, at --threads
  auto r2 = test::run_bitbench("run " + cfg + " --out " + (d / "run2"));
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  const auto rep2 = nlohmann::json::parse(test::read_text(d / "run2/report.json"));
  EXPECT_EQ(rep2["environment"]["threads"], 2);
  EXPECT_EQ(latency_threads(rep2), std::vector<int>(8, 2));  // the config's count
  // The same folder at another --threads: the stages before latency are
  // reused, the latency is measured again (its key holds the counts measured).
  auto r3 = test::run_bitbench("--threads 2 run " + cfg + " --out " + (d / "run1"));
  ASSERT_EQ(r3.exit_code, 0) << r3.err;
  const auto rep3 = nlohmann::json::parse(test::read_text(d / "run1/report.json"));
  EXPECT_EQ(latency_threads(rep3), std::vector<int>(8, 2));
  EXPECT_FALSE(rep3["latency_protocol"]["reused"].get<bool>());
  EXPECT_EQ(rep3["stages"][0]["status"], "reused");
  // validate --threads 2 evaluates and times the model at 2 threads, as run did.
  const std::string teacher = rep3["stages"][0]["path"].get<std::string>();
  auto v = test::run_bitbench("--threads 2 validate --checkpoint " + teacher + " --dataset mnist --data-dir " + (d / "m") +
                              " --img-size 12 --limit 32 --time-seconds 0.05 --results-file " + (d / "v.json"));
  ASSERT_EQ(v.exit_code, 0) << v.err;
  const auto fields = nlohmann::json::parse(test::read_text(d / "v.json"));
  EXPECT_EQ(fields["threads"], 2);
  EXPECT_EQ(fields["model_timed_threads"], 2);
}

TEST(CliRun, TinyRunWritesEveryReportAndReusesFinishedStages) {
  test::TempDir d;
  const std::string cfg = write_fixture(d, 1), out = d / "run";
  {  // the "at ViT scale" section, at the smallest preset
    std::string text = test::read_text(cfg);
    text.insert(text.rfind('}'), R"(, "scale": {"presets": ["vit_fmnist_tiny_patch4_28"], "batch_sizes": [1, 2], "rounds": 3,
      "min_seconds": 0.02, "warmup": 1})");
    test::write_text(cfg, text);
  }
  auto r = test::run_bitbench("run " + cfg + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| Model | Precision |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("report.html"), std::string::npos) << r.out;
  auto rep = nlohmann::json::parse(test::read_text(out + "/report.json"));
  EXPECT_EQ(rep["schema_version"], kReportSchemaVersion);
  ASSERT_EQ(rep["models"].size(), 4u);  // teacher, PTQ baseline, the student on two backends
  EXPECT_EQ(rep["models"][0]["role"], "teacher");
  EXPECT_EQ(rep["models"][1]["precision"], "W8A8");
  for (const auto& m : rep["models"]) {
    SCOPED_TRACE(m["name"].get<std::string>() + "/" + m["backend"].get<std::string>());
    EXPECT_EQ(m["accuracy"]["count"], 60);
    int64_t total = 0;
    for (const auto& row : m["accuracy"]["confusion"])
      for (const auto& v : row) total += v.get<int64_t>();
    EXPECT_EQ(total, 60);
    EXPECT_EQ(m["latency"].size(), 2u);
    // Memory: each model's own peak, and the process's figures it is taken from.
    EXPECT_GT(m["model_peak_rss_bytes"].get<int64_t>(), 0);
    EXPECT_EQ(m["peak_rss_scope"], "this evaluation");
    EXPECT_EQ(m["process_peak_rss_bytes"].get<int64_t>(),
              m["process_rss_before_bytes"].get<int64_t>() + m["model_peak_rss_bytes"].get<int64_t>());
    if (m["role"] != "teacher") {
      EXPECT_TRUE(m.contains("fidelity"));
    }
  }
  // Latency from interleaved rounds: every model's speed-up over the teacher
  // with its interval, and how it was measured.
  ASSERT_TRUE(rep.contains("latency_protocol"));
  EXPECT_FALSE(rep["latency_protocol"]["reused"].get<bool>());
  EXPECT_EQ(rep["latency_protocol"]["rounds"], 3);
  for (const auto& m : rep["models"])
    for (const auto& l : m["latency"]) {
      const auto& sp = l["speedup_vs_teacher"];
      EXPECT_LE(sp["ci95"][0].get<double>(), sp["median"].get<double>());
      EXPECT_GE(sp["ci95"][1].get<double>(), sp["median"].get<double>());
      EXPECT_EQ(l["rounds"], 3);
    }
  EXPECT_NE(test::read_text(out + "/report.md").find("3 interleaved rounds per point"), std::string::npos);
  // At ViT scale: every format of the ladder at the preset, each point with its
  // interval against fp32, the weights as held against fp32's.
  {
    ASSERT_TRUE(rep.contains("vit_scale"));
    const auto& v = rep["vit_scale"];
    EXPECT_FALSE(v["reused"].get<bool>());
    ASSERT_EQ(v["presets"].size(), 1u);
    const auto& p = v["presets"][0];
    EXPECT_EQ(p["preset"], "vit_fmnist_tiny_patch4_28");
    ASSERT_EQ(p["models"].size(), 6u);
    EXPECT_EQ(p["models"][0]["format"], "fp32");
    EXPECT_EQ(p["models"][0]["weights_vs_fp32"], 1.0);
    for (const auto& m : p["models"]) {
      SCOPED_TRACE(m["format"].get<std::string>());
      ASSERT_EQ(m["points"].size(), 2u);
      for (const auto& pt : m["points"]) {
        const auto& sp = pt["speedup_vs_fp32"];
        EXPECT_GT(pt["p50_ms"].get<double>(), 0);
        EXPECT_LE(sp["ci95"][0].get<double>(), sp["median"].get<double>());
        EXPECT_GE(sp["ci95"][1].get<double>(), sp["median"].get<double>());
      }
      if (m["spec"] == "W1.58A8" || m["spec"] == "W1A1") {
        EXPECT_LT(m["weights_vs_fp32"].get<double>(), 0.35);
      }
    }
    EXPECT_EQ(p["models"][3]["format"], "ternary W1.58A8, integer-only");
    const std::string md = test::read_text(out + "/report.md");
    EXPECT_NE(md.find("## At ViT scale (shape only: speed and memory, no accuracy)"), std::string::npos) << md;
    EXPECT_NE(md.find("| vit_fmnist_tiny_patch4_28 (0.5 M) | W1A1 | bitkernels |"), std::string::npos) << md;
  }
  // The student's two backends run the same codes: same predictions.
  EXPECT_EQ(rep["models"][2]["accuracy"]["confusion"], rep["models"][3]["accuracy"]["confusion"]);
  EXPECT_EQ(rep["models"][0]["history"].size(), 2u);  // the teacher's two epochs
  EXPECT_EQ(test::count_lines(test::read_text(out + "/results.csv")), 5);
  for (const auto& f : test::list_files(out)) EXPECT_EQ(f.find(".tmp."), std::string::npos) << f;

  // A fake-quant forward holds the fp32 latent weights: 32 bits per weight in
  // memory, whatever the format's nominal 1.58 (the engine holds packed codes).
  ASSERT_EQ(rep["models"][3]["backend"], "fake-quant");
  EXPECT_EQ(rep["models"][3]["bits_per_weight"]["quantized_layers_memory"], 32.0);
  EXPECT_EQ(rep["models"][3]["bits_per_weight"]["nominal"], 1.58);
  EXPECT_LT(rep["models"][2]["bits_per_weight"]["quantized_layers_memory"].get<double>(), 8.0);
  {
    const std::string md = test::read_text(out + "/report.md");
    EXPECT_NE(md.find("| fake-quant | 32.00 (1.58) |"), std::string::npos) << md;
    EXPECT_NE(md.find("fp32 latent, fake-quantised per forward"), std::string::npos) << md;
    EXPECT_NE(md.find("Peak RSS of this model"), std::string::npos) << md;
    // Each student's row says in words what its bits buy; 10 classes: no Top-5 column.
    EXPECT_NE(md.find("What its bits buy"), std::string::npos) << md;
    EXPECT_EQ(md.find("| Top-5 |"), std::string::npos) << md;
    const std::string table = md.substr(0, md.find("\n## "));
    std::smatch sm;
    EXPECT_TRUE(std::regex_search(table, sm, std::regex(R"(\| [0-9.]+× (smaller|larger), [0-9.]+× \[[0-9.]+–[0-9.]+\]( \([a-z, ]+\))? at batch 1, 1 thread, (\+|−)?[0-9.]+ points \|)")))
        << table;
    EXPECT_NE(table.find("| the reference |"), std::string::npos) << table;
    // The HTML carries the same sentence and a plot container per plot.
    const std::string html = test::read_text(out + "/report.html");
    EXPECT_NE(html.find(sm.str(0).substr(2, sm.str(0).size() - 4)), std::string::npos);
    for (const char* id : {"plot-size", "plot-memory", "plot-latency", "plot-latency-b4", "plot-speedup", "plot-teacher-curve",
                           "plot-student-curves", "plot-confusion"})
      EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  }

  // The frontier: every model with its modelled energy from the report's
  // table; the fp32 teacher's MACs are all float, a bit-kernel student's block
  // Linears multiply-free, so it costs less per image at both batch sizes.
  {
    ASSERT_TRUE(rep.contains("energy_table"));
    EXPECT_NE(rep["energy_table"]["source"].get<std::string>().find("Horowitz"), std::string::npos);
    const auto& te = rep["models"][0]["energy_model"];
    const auto& se = rep["models"][2]["energy_model"];
    ASSERT_EQ(rep["models"][2]["backend"], "bitkernels");
    EXPECT_EQ(te["macs"]["add"], 0);
    EXPECT_EQ(te["macs"]["int_mult"], 0);
    EXPECT_GT(se["macs"]["add"].get<int64_t>(), 0);
    EXPECT_EQ(se["macs"]["add"].get<int64_t>() + se["macs"]["float"].get<int64_t>(),
              te["macs"]["float"].get<int64_t>());  // the same MACs, of other kinds
    for (const char* b : {"uj_per_image_batch_1", "uj_per_image_batch_64"}) EXPECT_LT(se[b].get<double>(), te[b].get<double>()) << b;
    EXPECT_GT(te["uj_per_image_batch_1"].get<double>(), te["uj_per_image_batch_64"].get<double>());
    const std::string md = test::read_text(out + "/report.md");
    EXPECT_NE(md.find("## The frontier: what each bit buys"), std::string::npos) << md;
    EXPECT_NE(md.find("a model from operation counts, not a measurement"), std::string::npos) << md;
  }

  // A searched student's record (eval/precision_search.hpp) gives a table
  // and a heat map; both render.
  {
    SensitivityTable t;
    t.images = 32;
    t.rungs = {parse_quant_spec("W8A8"), parse_quant_spec("W1.58A8"), parse_quant_spec("W1A8")};
    for (int l = 0; l < 4; ++l) {
      t.layers.push_back({"blocks.0." + std::to_string(l), 0, l, 8, 8});
      t.delta.push_back({0, 0.01 * l, 0.02 * l});
      t.cost.push_back({64, 16, 8});
    }
    SearchConfig sc;
    sc.ladder = {t.rungs[1], t.rungs[2]};
    const SearchOutcome o = search_precision(t, 0.03, [&](const std::vector<int>& rung) {
      double s = 0;
      for (size_t l = 0; l < rung.size(); ++l) s += t.delta[l][static_cast<size_t>(rung[l])];
      return s;
    });
    nlohmann::json record = to_json(t, o, sc);
    record["plan"] = nlohmann::json::object();
    auto searched = rep;
    for (int i : {2, 3}) searched["models"][i]["search"] = record;
    fs::create_directories(d / "searched");
    test::write_text(d / "searched/report.json", searched.dump());
    ASSERT_EQ(test::run_bitbench("report " + (d / "searched")).exit_code, 0);
    const std::string md = test::read_text(d / "searched/report.md");
    const std::string name = rep["models"][2]["name"];
    EXPECT_NE(md.find("## Mixed precision: how " + name + " was chosen"), std::string::npos) << md;
    EXPECT_EQ(md.find("## Mixed precision: how"), md.rfind("## Mixed precision: how"));  // once, not per backend
    EXPECT_NE(md.find("| blocks.0.3 | 0.0300 | 0.0600 | 64 / 16 / 8 | W8A8 |"), std::string::npos) << md;
    const std::string html = test::read_text(d / "searched/report.html");
    EXPECT_NE(html.find("id=\"plot-sensitivity-" + name + "\" data-rendered=\"pending\" data-points=\"8\""), std::string::npos);
    const std::string scheck = std::string(BITBENCH_SOURCE_DIR) + "/scripts/check_report.sh " + (d / "searched") + " 2>&1";
    EXPECT_EQ(std::system(scheck.c_str()), 0);
  }

  // Schema and rendering, as a reader meets them (check_report.sh: every plot
  // rendered in headless Chromium without a script error; every cell of
  // report.md in report.html).
  const std::string check = std::string(BITBENCH_SOURCE_DIR) + "/scripts/check_report.sh " + out + " 2>&1";
  EXPECT_EQ(std::system(check.c_str()), 0);

  // The check fails when a plot does not render: a spec Vega refuses.
  {
    fs::create_directories(d / "broken");
    for (const char* f : {"report.json", "report.md", "results.csv"}) fs::copy_file(out + "/" + f, d / ("broken/" + std::string(f)));
    std::string html = test::read_text(out + "/report.html");
    const size_t at = html.find("\"type\":\"linear\"", html.find("\"plot-latency\": "));
    ASSERT_NE(at, std::string::npos);
    html.replace(at, 17, "\"type\":\"bogus\"");
    test::write_text(d / "broken/report.html", html);
    const std::string bcheck = std::string(BITBENCH_SOURCE_DIR) + "/scripts/check_report.sh " + (d / "broken") + " >/dev/null 2>&1";
    EXPECT_NE(std::system(bcheck.c_str()), 0);
  }

  // Names that are HTML or script in disguise stay text: the page still renders every plot.
  {
    auto hostile = rep;
    hostile["models"][2]["name"] = "</script><script>throw 1</script><!--";
    hostile["models"][3]["name"] = hostile["models"][2]["name"];
    hostile["dataset"]["class_names"][0] = "<b>zero</b> & \"one\" </SCRIPT>";
    fs::create_directories(d / "hostile");
    test::write_text(d / "hostile/report.json", hostile.dump());
    ASSERT_EQ(test::run_bitbench("report " + (d / "hostile")).exit_code, 0);
    const std::string html = test::read_text(d / "hostile/report.html");
    EXPECT_NE(html.find("<td>&lt;b&gt;zero&lt;/b&gt; &amp; &quot;one&quot; &lt;/SCRIPT&gt;</td>"), std::string::npos);
    EXPECT_EQ(html.find("</script><script>throw"), std::string::npos);  // in the plots' specs: <\/script>
    const std::string hcheck = std::string(BITBENCH_SOURCE_DIR) + "/scripts/check_report.sh " + (d / "hostile") + " 2>&1";
    EXPECT_EQ(std::system(hcheck.c_str()), 0);
  }

  // More than 10 classes: the Top-5 column is shown (md and html); more than
  // 40: the confusion matrix shows the 40 with the most errors, every one named.
  {
    auto many = rep;
    constexpr int kClasses = 60;
    many["dataset"]["num_classes"] = kClasses;
    many["dataset"]["class_names"] = nlohmann::json::array();
    for (int c = 0; c < kClasses; ++c) many["dataset"]["class_names"].push_back("class " + std::to_string(c));
    for (auto& m : many["models"]) {
      auto conf = nlohmann::json::array();
      for (int i = 0; i < kClasses; ++i) {
        auto row = nlohmann::json::array();
        for (int j = 0; j < kClasses; ++j) row.push_back(i == j ? 20 : (i * 7 + j * 3) % 4);
        conf.push_back(row);
      }
      m["accuracy"]["confusion"] = conf;
      m["accuracy"]["per_class"] = std::vector<double>(kClasses, 50.0);
    }
    fs::create_directories(d / "many");
    test::write_text(d / "many/report.json", many.dump());
    ASSERT_EQ(test::run_bitbench("report " + (d / "many")).exit_code, 0);
    EXPECT_NE(test::read_text(d / "many/report.md").find("| Top-5 |"), std::string::npos);
    EXPECT_NE(test::read_text(d / "many/report.md").find("| class 59 |"), std::string::npos);
    const std::string html = test::read_text(d / "many/report.html");
    EXPECT_NE(html.find("<th>Top-5</th>"), std::string::npos);
    EXPECT_NE(html.find("data-points=\"1600\""), std::string::npos);  // 40 × 40 cells
    const std::string mcheck = std::string(BITBENCH_SOURCE_DIR) + "/scripts/check_report.sh " + (d / "many") + " 2>&1";
    EXPECT_EQ(std::system(mcheck.c_str()), 0);
  }

  // A schema-1 report (before the memory fields said whose figure they were)
  // still renders: its figures under the new names, the fake-quant row as 32 bits/W.
  {
    auto v1 = rep;
    v1["schema_version"] = 1;
    for (auto& m : v1["models"]) {
      m["peak_rss_bytes"] = m["process_peak_rss_bytes"];
      m["peak_rss_above_start_bytes"] = m["model_peak_rss_bytes"];
      for (const char* k : {"process_peak_rss_bytes", "model_peak_rss_bytes", "process_rss_before_bytes"}) m.erase(k);
    }
    v1["models"][3]["bits_per_weight"]["quantized_layers_memory"] = 1.58;  // what schema 1 wrote for fake-quant
    fs::create_directories(d / "v1");
    test::write_text(d / "v1/report.json", v1.dump());
    ASSERT_EQ(test::run_bitbench("report " + (d / "v1")).exit_code, 0);
    EXPECT_EQ(test::read_text(d / "v1/report.md"), test::read_text(out + "/report.md"));
    auto v0 = rep;
    v0["schema_version"] = 0;
    test::write_text(d / "v1/report.json", v0.dump());
    auto old = test::run_bitbench("report " + (d / "v1"));
    EXPECT_EQ(old.exit_code, 2);
    EXPECT_NE(old.err.find("older than any bitbench wrote"), std::string::npos) << old.err;
  }

  // The typed record: report.json read into it and written back is the same
  // JSON, key order included, and reads back equal; a report missing a field
  // the record needs is refused, naming where.
  {
    const auto ordered = nlohmann::ordered_json::parse(test::read_text(out + "/report.json"));
    const ReportRecord rec = report_record(ordered);
    ASSERT_EQ(rec.models.size(), 4u);
    EXPECT_EQ(rec.models[0].role, "teacher");
    EXPECT_FALSE(rec.models[0].fidelity.has_value());
    EXPECT_TRUE(rec.models[2].fidelity.has_value());
    EXPECT_EQ(nlohmann::ordered_json(rec).dump(), ordered.dump());
    EXPECT_TRUE(report_record(nlohmann::ordered_json(rec)) == rec);
    ModelEntry partial = rec.models[1];  // as the eval stage caches it: no history, no latency
    partial.history.reset();
    partial.latency.reset();
    const nlohmann::ordered_json pj = partial;
    EXPECT_FALSE(pj.contains("history"));
    EXPECT_FALSE(pj.contains("latency"));
    EXPECT_EQ(pj.back(), pj["energy_model"]);  // then the search record of a searched student

    fs::create_directories(d / "broken");
    auto no_top1 = rep;
    no_top1["models"][1]["accuracy"].erase("top1");
    test::write_text(d / "broken/report.json", no_top1.dump());
    auto r1 = test::run_bitbench("report " + (d / "broken"));
    EXPECT_EQ(r1.exit_code, 2);
    EXPECT_NE(r1.err.find("models[1]: accuracy: "), std::string::npos) << r1.err;
    EXPECT_NE(r1.err.find("'top1'"), std::string::npos) << r1.err;
    auto no_split = rep;
    no_split["dataset"].erase("split");
    test::write_text(d / "broken/report.json", no_split.dump());
    auto r2 = test::run_bitbench("report " + (d / "broken"));
    EXPECT_EQ(r2.exit_code, 2);
    EXPECT_NE(r2.err.find("dataset: "), std::string::npos) << r2.err;
    EXPECT_NE(r2.err.find("'split'"), std::string::npos) << r2.err;
    // Optional parts absent (a schema-2 report from before they were written) still render.
    auto older = rep;
    older.erase("lineage");
    older.erase("latency_protocol");
    older["dataset"].erase("class_map");
    for (auto& m : older["models"])
      for (const char* k : {"model_peak_rss_bytes", "process_rss_before_bytes", "process_peak_rss_bytes", "peak_rss_scope", "history"})
        m.erase(k);
    test::write_text(d / "broken/report.json", older.dump());
    auto r3 = test::run_bitbench("report " + (d / "broken"));
    EXPECT_EQ(r3.exit_code, 0) << r3.err;
  }

  // Unchanged config: every stage is reused and the figures are those of the first run.
  auto again = test::run_bitbench("run " + cfg + " --out " + out + " --no-table");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto rep2 = nlohmann::json::parse(test::read_text(out + "/report.json"));
  for (const auto& s : rep2["stages"]) EXPECT_EQ(s["status"], "reused") << s.dump();
  EXPECT_EQ(rep2["models"], rep["models"]);
  EXPECT_TRUE(rep2["latency_protocol"]["reused"].get<bool>());  // and the report says when they were measured
  EXPECT_TRUE(rep2["vit_scale"]["reused"].get<bool>());
  EXPECT_NE(test::read_text(out + "/report.md").find(", reused ("), std::string::npos);

  // A measurement taken on a busy machine carries the warning in report.md and report.html.
  {
    auto busy = rep2;
    busy["latency_protocol"]["machine"]["busy"] = true;
    busy["latency_protocol"]["machine"]["other_cpu_cores"] = 0.9;
    fs::create_directories(d / "busy");
    test::write_text(d / "busy/report.json", busy.dump());
    ASSERT_EQ(test::run_bitbench("report " + (d / "busy")).exit_code, 0);
    EXPECT_NE(test::read_text(d / "busy/report.md").find("Warning: the machine was busy"), std::string::npos);
    EXPECT_NE(test::read_text(d / "busy/report.html").find("Warning: the machine was busy"), std::string::npos);
  }

  // `report` re-renders the same files from report.json.
  const std::string md = test::read_text(out + "/report.md");
  fs::remove(out + "/report.md");
  fs::remove(out + "/report.html");
  auto re = test::run_bitbench("report " + out);
  ASSERT_EQ(re.exit_code, 0) << re.err;
  EXPECT_EQ(test::read_text(out + "/report.md"), md);
  EXPECT_TRUE(fs::exists(out + "/report.html"));

  // compare: identical passes; a crafted regression exits 3.
  auto same = test::run_bitbench("compare " + out + "/report.json " + out + "/report.json --max-top1-drop 0 --max-slowdown 0");
  EXPECT_EQ(same.exit_code, 0) << same.err;
  auto worse = rep;
  worse["models"][2]["accuracy"]["top1"] = rep["models"][2]["accuracy"]["top1"].get<double>() - 5;
  test::write_text(d / "worse.json", worse.dump());
  auto drop = test::run_bitbench("compare " + out + "/report.json " + (d / "worse.json") + " --max-top1-drop 1");
  EXPECT_EQ(drop.exit_code, 3) << drop.out << drop.err;
  EXPECT_NE(drop.out.find("TOP-1 DROP"), std::string::npos) << drop.out;
  EXPECT_EQ(test::run_bitbench("compare " + out + "/report.json " + (d / "worse.json") + " --max-top1-drop 6").exit_code, 0);
  auto slow = rep;
  for (auto& l : slow["models"][3]["latency"]) l["p50_ms"] = l["p50_ms"].get<double>() * 2;
  test::write_text(d / "slow.json", slow.dump());
  auto slower = test::run_bitbench("compare " + out + "/report.json " + (d / "slow.json") + " --max-slowdown 50");
  EXPECT_EQ(slower.exit_code, 3) << slower.out;
  EXPECT_NE(slower.out.find("SLOWER"), std::string::npos) << slower.out;
  auto bad = test::run_bitbench("compare " + out + "/report.json " + (d / "bench.json"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bench.json: is not a bitbench report.json"), std::string::npos) << bad.err;
}

TEST(CliRun, CtrlCDuringDistillationThenResumeReusesTheTeacher) {
  test::TempDir d;
  const std::string cfg = write_fixture(d, 60), out = d / "run";
  // Wait for the students' first checkpoint (the teacher stage is finished by then), then Ctrl-C.
  std::string script = "BITBENCH_PROGRESS=off " + std::string(BITBENCH_EXE) + " run " + cfg + " --out " + out + " >" +
                       (d / "stdout") + " 2>" + (d / "stderr") + " & pid=$!; for i in $(seq 1200); do " +
                       "ls " + out + "/stages/students-*/student_w1.58a8/checkpoint.safetensors >/dev/null 2>&1 && break; " +
                       "sleep 0.05; done; kill -INT $pid; wait $pid; echo $? >" + (d / "rc");
  ASSERT_EQ(std::system(("sh -c '" + script + "'").c_str()), 0);
  const std::string err = test::read_text(d / "stderr");
  ASSERT_EQ(std::stoi(test::read_text(d / "rc")), 130) << err;
  EXPECT_NE(err.find("run the same command again to resume"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out + "/report.json"));
  auto r = test::run_bitbench("run " + cfg + " --out " + out + " --no-table");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rep = nlohmann::json::parse(test::read_text(out + "/report.json"));
  EXPECT_EQ(rep["stages"][0]["stage"], "teacher");
  EXPECT_EQ(rep["stages"][0]["status"], "reused");
  EXPECT_EQ(rep["stages"][1]["status"], "distilled");
  // The resumed student trained all its epochs.
  EXPECT_EQ(rep["models"][2]["history"].size(), 60u);
}

TEST(CliRun, ASecondRunOnTheSameFolderIsRefused) {
  test::TempDir d;
  const std::string cfg = write_fixture(d, 1), out = d / "run";
  fs::create_directories(out);
  DirLock held(out);  // as a run in progress would
  auto r = test::run_bitbench("run " + cfg + " --out " + out);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("in use by another bitbench process"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "/stages"));
}

TEST(CliRun, BadConfigAndMissingCheckpointFailBeforeAnyOutput) {
  test::TempDir d;
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "t.safetensors"}, "students": {"distill": "s.json"}, "latency": {"warmup": "3"}})");
  auto r = test::run_bitbench("run " + (d / "c.json") + " --out " + (d / "out"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("c.json: /latency/warmup"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d / "out"));
  test::write_text(d / "c.json", R"({"teacher": {"checkpoint": "gone.safetensors"}, "students": {"distill": "s.json"}})");
  auto m = test::run_bitbench("run " + (d / "c.json") + " --out " + (d / "out"));
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_NE(m.err.find("gone.safetensors: teacher checkpoint not found"), std::string::npos) << m.err;
  EXPECT_FALSE(fs::exists(d / "out/report.json"));
}

// The ImageNet path of configs/imagenet_deit_tiny.json in miniature: a user's
// timm-named checkpoint (the shared PyTorch reference ViT, no bitbench
// metadata) given with --teacher, a flat ImageNet val folder with Kaggle
// labels, students distilled on a train ImageFolder, timm's eval transform.
TEST(CliRun, UsersTimmCheckpointOnImageNetLayout) {
  test::TempDir d;
  const std::string ref = std::string(BITBENCH_SOURCE_DIR) + "/../shared/reference/vit_random_small/model.safetensors";
  std::vector<std::string> synsets;
  for (int c = 0; c < 7; ++c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "n%08d", 1000000 + c * 37);  // the val fixture's synsets
    synsets.push_back(buf);
  }
  write_image_folder_fixture(d / "in/train", synsets, 4, 24, 20, "jpg");
  write_imagenet_val_fixture(d / "in/val", 21, 7, "kaggle", 24, 20);
  const std::string data = R"("dataset": {"name": "imagenet", "data_dir": "/nonexistent", "eval_split": "val"},
    "transform": {"img_size": 16, "crop_pct": 0.875, "interpolation": "bicubic"})";
  test::write_text(d / "students.json", "{\"name\": \"s\", " + data + R"(, "augment": {"random_resized_crop": true, "hflip": 0.5},
    "loader": {"batch_size": 8, "eval_batch_size": 8, "workers": 0}, "train": {"epochs": 1},
    "students": [{"quant": {"spec": "W1.58A8", "subln": true}}]})");
  test::write_text(d / "bench.json", "{\"name\": \"in\", " + data + R"(, "loader": {"eval_batch_size": 8, "workers": 0},
    "teacher": {"checkpoint": "missing.safetensors"}, "students": {"distill": "students.json"},
    "latency": {"batch_sizes": [1], "threads": [1], "warmup": 1, "rounds": 3, "min_seconds": 0.03}})");
  auto r = test::run_bitbench("run " + (d / "bench.json") + " --teacher " + ref + " --data-dir " + (d / "in") + " --out " +
                              (d / "run") + " --no-table");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rep = nlohmann::json::parse(test::read_text(d / "run/report.json"));
  EXPECT_EQ(rep["dataset"]["name"], "imagenet");
  EXPECT_EQ(rep["dataset"]["count"], 21);
  EXPECT_EQ(rep["config"]["transform"]["interpolation"], "bicubic");
  ASSERT_EQ(rep["models"].size(), 3u);
  EXPECT_EQ(rep["models"][0]["checkpoint"], ref);
  EXPECT_EQ(rep["models"][0]["params"], nlohmann::json::parse(test::run_bitbench("model info --json " + ref).out)["param_count"]);
  EXPECT_EQ(rep["models"][2]["precision"], "W1.58A8");
  EXPECT_EQ(rep["models"][2]["history"].size(), 1u);  // distilled here, on the train folder
}

// ---- lineage: a student is compared with the teacher it was distilled from (issue #31)

// Before: `run --teacher other.safetensors` kept the shipped students and
// reported their gap to a teacher they never saw ("Δ top-1 vs teacher 69.30").
// The fixture run once (teacher and student trained), then shipped.json: the
// same bench config shipping that teacher and student as checkpoints.
struct ShippedFixture {
  nlohmann::json report;  // the first run's
  std::string teacher, student, bench;  // bench: shipped.json's text
};
ShippedFixture ship_first_run(const test::TempDir& d, const std::string& cfg) {
  auto first = test::run_bitbench("run " + cfg + " --out " + (d / "run1") + " --no-table");
  EXPECT_EQ(first.exit_code, 0) << first.err;
  ShippedFixture f;
  f.report = nlohmann::json::parse(test::read_text(d / "run1/report.json"));
  f.teacher = f.report["models"][0]["checkpoint"];
  f.student = f.report["models"][2]["checkpoint"];
  f.bench = test::read_text(cfg);
  const std::string from = R"("teacher": {"train": "teacher.json"}, "students": {"distill": "students.json",)";
  EXPECT_NE(f.bench.find(from), std::string::npos);
  f.bench.replace(f.bench.find(from), from.size(),
                  R"("teacher": {"checkpoint": ")" + f.teacher + R"(", "train": "teacher.json"}, "students": {"distill": "students.json", "checkpoints": {"s": ")" +
                      f.student + R"("},)");
  test::write_text(d / "shipped.json", f.bench);
  return f;
}

TEST(Lineage, ShippedStudentsOfAnotherTeacherAreRefusedOrRedistilled) {
  test::TempDir d;
  const std::string cfg = write_fixture(d, 1);
  const ShippedFixture sf = ship_first_run(d, cfg);
  const nlohmann::json& rep = sf.report;
  const std::string &teacher = sf.teacher, &student = sf.student;
  // distill recorded the teacher's weight identity in the student.
  EXPECT_EQ(SafetensorsFile::read(student).own_metadata().at("teacher_sha256"), weights_sha256(SafetensorsFile::read(teacher)));
  // Another teacher: the same recipe, another seed.
  std::string trecipe = test::read_text(d / "teacher.json");
  trecipe.insert(1, "\"seed\": 7, ");
  test::write_text(d / "teacher7.json", trecipe);
  auto t7 = test::run_bitbench("train --config " + (d / "teacher7.json") + " --out " + (d / "t7"));
  ASSERT_EQ(t7.exit_code, 0) << t7.err;
  const std::string other = d / "t7/teacher.safetensors";
  ASSERT_TRUE(fs::exists(other));
  // A config shipping both: accepted with its own teacher, refused with the other (nothing written).
  const std::string& bench = sf.bench;
  auto own = test::run_bitbench("run " + (d / "shipped.json") + " --out " + (d / "own") + " --no-table");
  ASSERT_EQ(own.exit_code, 0) << own.err;
  EXPECT_EQ(own.err.find("records no teacher"), std::string::npos) << own.err;
  auto mixed = test::run_bitbench("run " + (d / "shipped.json") + " --teacher " + other + " --out " + (d / "mixed"));
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_EQ(test::count_lines(mixed.err), 1) << mixed.err;
  EXPECT_NE(mixed.err.find(student + " was distilled from the teacher whose weights hash to"), std::string::npos) << mixed.err;
  EXPECT_NE(mixed.err.find("--distill"), std::string::npos) << mixed.err;
  EXPECT_FALSE(fs::exists(d / "mixed"));
  // A student as the teacher: refused, not evaluated as the reference.
  auto as_teacher = test::run_bitbench("run " + (d / "shipped.json") + " --teacher " + student + " --distill --out " + (d / "st"));
  EXPECT_EQ(as_teacher.exit_code, 2);
  EXPECT_NE(as_teacher.err.find("is a quantised student (W1.58A8), not a full-precision teacher"), std::string::npos) << as_teacher.err;
  // --distill: the config's students distilled from the teacher in use.
  auto re = test::run_bitbench("run " + (d / "shipped.json") + " --teacher " + other + " --distill --out " + (d / "re") + " --no-table");
  ASSERT_EQ(re.exit_code, 0) << re.err;
  const auto rr = nlohmann::json::parse(test::read_text(d / "re/report.json"));
  EXPECT_EQ(rr["models"][0]["checkpoint"], other);
  const std::string redistilled = rr["models"][2]["checkpoint"];
  EXPECT_NE(redistilled, student);
  EXPECT_EQ(SafetensorsFile::read(redistilled).own_metadata().at("teacher_sha256"), weights_sha256(SafetensorsFile::read(other)));
  // config check reads the files a config names: the same refusal as run has nothing to do with lineage
  // (it checks the config's own teacher), but a missing checkpoint is not OK.
  auto ok = test::run_bitbench("config check " + (d / "shipped.json"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  std::string gone = bench;
  gone.replace(gone.find(student), student.size(), d / "gone.safetensors");
  test::write_text(d / "gone.json", gone);
  auto chk = test::run_bitbench("config check " + (d / "gone.json"));
  EXPECT_EQ(chk.exit_code, 2);  // before: "gone.json: OK"
  EXPECT_NE(chk.err.find("gone.safetensors: student checkpoint not found"), std::string::npos) << chk.err;

  // compare says what differs besides the models.
  auto rep2 = rep;
  rep2["dataset"]["count"] = 1000;
  rep2["environment"]["cpu"] = "another CPU";
  test::write_text(d / "b.json", rep2.dump());
  auto cmp = test::run_bitbench("compare " + (d / "run1/report.json") + " " + (d / "b.json"));
  EXPECT_EQ(cmp.exit_code, 0) << cmp.err;
  EXPECT_NE(cmp.out.find("Caveat: Different images: A has 60 of mnist/test, B 1000 of mnist/test"), std::string::npos) << cmp.out;
  EXPECT_NE(cmp.out.find("Caveat: Different machines or settings"), std::string::npos) << cmp.out;
  EXPECT_NE(cmp.out.find("not in interleaved rounds"), std::string::npos) << cmp.out;
}

// A run reads each shipped model file once (eval/model_files.hpp): before, it
// read a shipped student 13 times with two backends (the preflight, the
// student stage, its hash, then each backend's evaluation and latency and the
// lineage, a packed file twice per load) and the teacher 10 times.
TEST(CliRun, EachShippedFileIsReadOncePerRun) {
  test::TempDir d;
  const std::string cfg = write_fixture(d, 1);
  const ShippedFixture sf = ship_first_run(d, cfg);
  const nlohmann::json& rep = sf.report;
  const BenchConfig bc = load_bench_config(d / "shipped.json");
  ASSERT_EQ(bc.student_backends.size(), 2u);
  RunOptions o;
  o.out_dir = d / "shipped";
  o.progress = false;
  count_file_reads(true);
  const RunOutcome r = run_benchmark(bc, o);
  const int64_t teacher_reads = file_reads(bc.teacher_checkpoint), student_reads = file_reads(bc.student_checkpoints.at("s"));
  count_file_reads(false);
  ASSERT_FALSE(r.interrupted);
  ASSERT_EQ(r.report["models"].size(), 4u);  // teacher, its W8A8 PTQ, the student on two backends
  std::printf("[reads] teacher %lld, student %lld\n", static_cast<long long>(teacher_reads), static_cast<long long>(student_reads));
  EXPECT_EQ(teacher_reads, 1);
  EXPECT_EQ(student_reads, 1);
  // The same figures as the run that distilled it, from the one read.
  EXPECT_EQ(r.report["models"][2]["accuracy"]["top1"].get<double>(), rep["models"][2]["accuracy"]["top1"].get<double>());
  EXPECT_EQ(r.report["models"][3]["accuracy"]["top1"].get<double>(), rep["models"][3]["accuracy"]["top1"].get<double>());
}

// Before: a teacher whose metadata another tool dropped ran with num_heads =
// embed_dim / 64 and `run` reported its accuracy without a word. Now the run
// refuses it, says /teacher/model, and with it gives the teacher's own figure
// and distils students from it.
TEST(Lineage, ATeacherWithoutItsConfigIsRefusedThenRunsWithTeacherModel) {
  test::TempDir d;
  const std::string cfg = write_fixture(d, 1);
  auto first = test::run_bitbench("run " + cfg + " --out " + (d / "run1") + " --no-table");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto rep = nlohmann::json::parse(test::read_text(d / "run1/report.json"));
  const std::string teacher = rep["models"][0]["checkpoint"];
  const SafetensorsFile f = SafetensorsFile::read(teacher);
  std::vector<TensorToWrite> t;
  for (const auto& info : f.tensors()) t.push_back({info.name, info.shape, info.dtype, f.raw(info)});
  write_safetensors(d / "stripped.safetensors", t, {{"format", "pt"}});
  std::string bench = test::read_text(cfg);
  const std::string from = R"("teacher": {"train": "teacher.json"})";
  ASSERT_NE(bench.find(from), std::string::npos);
  bench.replace(bench.find(from), from.size(), R"("teacher": {"checkpoint": "stripped.safetensors"})");
  test::write_text(d / "stripped.json", bench);
  auto refused = test::run_bitbench("run " + (d / "stripped.json") + " --out " + (d / "r2"));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(test::count_lines(refused.err), 1) << refused.err;
  EXPECT_NE(refused.err.find("cannot tell num_heads"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("/teacher/model"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(d / "r2"));
  // The model section of the teacher's recipe, as /teacher/model.
  const std::string model = R"({"img_size": 12, "patch_size": 4, "in_chans": 1, "embed_dim": 16, "depth": 1, "num_heads": 2, "mlp_hidden": 16})";
  bench.replace(bench.find(R"("checkpoint": "stripped.safetensors"})"), std::string(R"("checkpoint": "stripped.safetensors"})").size(),
                R"("checkpoint": "stripped.safetensors", "model": )" + model + "}");
  test::write_text(d / "told.json", bench);
  auto told = test::run_bitbench("run " + (d / "told.json") + " --out " + (d / "r3") + " --no-table");
  ASSERT_EQ(told.exit_code, 0) << told.err;
  const auto rep3 = nlohmann::json::parse(test::read_text(d / "r3/report.json"));
  EXPECT_EQ(rep3["models"][0]["accuracy"]["top1"], rep["models"][0]["accuracy"]["top1"]);
  EXPECT_EQ(rep3["models"][2]["role"], "student");  // distilled from the stripped teacher
  EXPECT_EQ(rep3["lineage"]["students"].begin().value()["same_teacher"], true);
}

// ---- the shipped checkpoints (models/zoo): each loads and reaches the top-1
// its metadata records on the fixed 1 000-image subset and on the whole test
// set, on the backend it names; its recipe hash is the one configs/ gives today.
TEST(Zoo, ShippedCheckpointsLoadAndReachTheirRecordedTop1) {
  const std::string src = BITBENCH_SOURCE_DIR;
  const BenchConfig cfg = load_bench_config(src + "/configs/default.json");
  std::vector<std::string> files = {cfg.teacher_checkpoint};
  for (const auto& [name, path] : cfg.student_checkpoints) files.push_back(path);
  ASSERT_EQ(files.size(), 8u);  // the teacher and the ladder: ternary, W1A8, integer-only ternary, W1A4, W1A2, W1A1, the searched one
  for (const std::string& rel : files) {
    const std::string path = fs::path(rel).is_absolute() ? rel : src + "/" + rel;
    SCOPED_TRACE(path);
    ASSERT_TRUE(fs::exists(path));
    const SafetensorsFile f = SafetensorsFile::read(path);
    ASSERT_TRUE(f.own_metadata().count("zoo_eval"));
    ASSERT_TRUE(f.own_metadata().count("zoo_git_revision"));
    ASSERT_TRUE(f.own_metadata().count("zoo_recipe_hash"));
    const auto e = nlohmann::json::parse(f.own_metadata().at("zoo_eval"));
    EXPECT_EQ(e["dataset"], "fashion-mnist");
    const double got = zoo_subset_top1(path, parse_model_backend(e["backend"].get<std::string>()), cfg.run.data, e["subset_limit"].get<int64_t>());
    // Another ISA path may round a logit differently: allow two images of 1 000.
    EXPECT_NEAR(got, e["subset_top1"].get<double>(), 0.2);
    EXPECT_GT(got, 85.0);
    // The whole test set (limit 0), against the report's top-1 the file records: five images of 10 000.
    // The sanitizer build runs the same code on the subset above only (the
    // whole set takes it five minutes); the release build checks the whole set.
    EXPECT_EQ(e["count"].get<int64_t>(), 10000);
    if (kSanitizerBuild) {
      std::printf("[zoo] whole-test-set top-1: checked by the release build, not this sanitizer build\n");
    } else {
      const double full = zoo_subset_top1(path, parse_model_backend(e["backend"].get<std::string>()), cfg.run.data, 0);
      EXPECT_NEAR(full, e["top1"].get<double>(), 0.05);
    }
    // The recipe it was trained from, as configs/ says it today.
    const std::string want = rel == cfg.teacher_checkpoint ? teacher_recipe_hash(load_run_config(cfg.teacher_train))
                                                           : students_recipe_hash(load_distill_config(cfg.students_distill));
    EXPECT_EQ(f.own_metadata().at("zoo_recipe_hash"), want) << "configs/ changed the recipe this checkpoint was trained from";
    // Every key is in bitbench's namespace, and the class names travel with each file.
    for (const auto& [k, v] : f.metadata()) EXPECT_EQ(k.rfind("bitbench.", 0), 0u) << k;
    ASSERT_TRUE(f.own_metadata().count("class_names"));
    EXPECT_EQ(nlohmann::json::parse(f.own_metadata().at("class_names")),
              nlohmann::json(dataset_preset("fashion-mnist").class_names));
  }
}

// `bitbench predict` names Fashion-MNIST's classes with every shipped file
// (the packed students included), and the teacher and students agree on
// test images all three classify right.
TEST(Zoo, PredictNamesTheClassesWithEveryShippedFile) {
  const std::string src = BITBENCH_SOURCE_DIR;
  const BenchConfig cfg = load_bench_config(src + "/configs/default.json");
  test::TempDir d;
  auto ds = open_dataset(cfg.run.data.dataset, "test");
  std::string images;
  for (size_t i = 0; i < 3; ++i) {
    const std::string png = d / ("img_" + std::to_string(i) + ".png");
    write_file_atomic(png, encode_png(ds->image(i)));
    images += " " + png;
  }
  std::vector<std::string> files = {cfg.teacher_checkpoint};
  for (const auto& [name, path] : cfg.student_checkpoints) files.push_back(path);
  const auto& names = dataset_preset("fashion-mnist").class_names;
  for (const std::string& rel : files) {
    SCOPED_TRACE(rel);
    const std::string path = fs::path(rel).is_absolute() ? rel : src + "/" + rel;
    auto r = test::run_bitbench("predict --top 1 --checkpoint " + path + images);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (size_t i = 0; i < 3; ++i)
      EXPECT_NE(r.out.find(names.at(static_cast<size_t>(ds->label(i)))), std::string::npos)
          << "image " << i << " (" << names.at(static_cast<size_t>(ds->label(i))) << "): " << r.out;
  }
}

}  // namespace
}  // namespace bb
