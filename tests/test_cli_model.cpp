// bitbench model info / validate / predict end to end on the PyTorch reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>
#include "core/file_io.hpp"
#include "datasets/image_encode.hpp"

#include "core/npy.hpp"
#include "datasets/dataset_config.hpp"
#include "datasets/fixtures.hpp"
#include "datasets/image_folder.hpp"
#include "datasets/transforms.hpp"
#include "eval/validate.hpp"
#include "kernels/backend.hpp"
#include "models/checkpoint.hpp"
#include "models/packed.hpp"
#include "models/safetensors.hpp"
#include "models/vit.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

using test::run_bitbench;
const std::string kModel = std::string(BITBENCH_SOURCE_DIR) + "/../shared/reference/vit_random_small/model.safetensors";

TEST(CliModel, InfoPrintsConfigCountsAndTensors) {
  auto r = run_bitbench("model info --json " + kModel);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["param_count"], 17447);
  EXPECT_EQ(j["config"]["embed_dim"], 32);
  EXPECT_EQ(j["tensors"].size(), 32u);
  auto text = run_bitbench("model info " + kModel);
  EXPECT_NE(text.out.find("blocks.1.mlp.fc2.weight"), std::string::npos);
}

// A timm DeiT-Tiny-shaped checkpoint as a user converts it once with PyTorch
// (random weights, another tool's metadata keys in it) gives PyTorch's logits
// on photos through timm's eval pipeline (Pillow decode, Resize(256, bicubic),
// CenterCrop(224), ImageNet mean/std) within 1e-4: the model named with
// --model brings timm's eval settings; without it, a --model-config does the
// same for the architecture. tests/gen_deit_reference.py makes the files.
TEST(CliModel, TimmDeitCheckpointGivesPyTorchsLogitsThroughValidate) {
  test::TempDir d;
  const std::string gen = std::string("/usr/bin/python3 ") + BITBENCH_SOURCE_DIR + "/tests/gen_deit_reference.py " + d.str();
  ASSERT_EQ(std::system((gen + " > /dev/null").c_str()), 0)
      << "tests/gen_deit_reference.py failed: are python3-torch, python3-torchvision and python3-pil installed "
         "(bash scripts/install-deps.sh --test)?";
  const NpyArray want = read_npy(d / "logits.npy");
  ASSERT_EQ(want.shape, (std::vector<int64_t>{8, 1000}));
  test::write_text(d / "deit.json", to_json(vit_preset("deit_tiny_patch16_224")).dump());
  // The fixture's folders are numbered in the model's class order and the file names no classes: by-index says so.
  const std::string common = "validate --dataset imagefolder --class-map by-index --data-dir " + (d / "images") + " --checkpoint " +
                             (d / "model.safetensors") + " --time-seconds 0 --logits-out " + (d / "l.npy") +
                             " --results-file " + (d / "r.json");
  struct Run {
    std::string flags, settings;
  };
  for (const Run& run : {Run{"--model deit_tiny_patch16_224", "timm deit_tiny_patch16_224.fb_in1k"},
                         Run{"--model-config " + (d / "deit.json") + " --interpolation bicubic", "data set"}}) {
    SCOPED_TRACE(run.flags);
    auto r = run_bitbench(common + " " + run.flags);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const NpyArray got = read_npy(d / "l.npy");
    ASSERT_EQ(got.shape, want.shape);
    float worst = 0;
    for (size_t i = 0; i < got.data.size(); ++i) worst = std::max(worst, std::fabs(got.data[i] - want.data[i]));
    EXPECT_LE(worst, 1e-4f);
    std::printf("[ %s ] max |logit - PyTorch| = %.3g\n", run.flags.c_str(), worst);
    const auto res = nlohmann::json::parse(test::read_bytes(d / "r.json"));
    EXPECT_EQ(res["eval_settings"], run.settings);
    EXPECT_EQ(res["img_size"], 224);
    EXPECT_EQ(res["crop_pct"], 0.875);
    EXPECT_EQ(res["interpolation"], "bicubic");
    EXPECT_EQ(res["mean"], nlohmann::json({0.485, 0.456, 0.406}));
    EXPECT_EQ(res["std"], nlohmann::json({0.229, 0.224, 0.225}));
    EXPECT_EQ(res["resize"], "pillow");
    EXPECT_EQ(res["count"], 8);
  }
  // OpenCV's resize is not timm's: the same model and images move the logits far beyond the tolerance.
  auto r = run_bitbench(common + " --model deit_tiny_patch16_224 --resize opencv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const NpyArray ocv = read_npy(d / "l.npy");
  float worst = 0;
  for (size_t i = 0; i < ocv.data.size(); ++i) worst = std::max(worst, std::fabs(ocv.data[i] - want.data[i]));
  EXPECT_GT(worst, 1e-2f);
  // predict names ImageNet's classes for a 1000-class checkpoint that carries none.
  auto p = run_bitbench("predict --checkpoint " + (d / "model.safetensors") + " --model deit_tiny_patch16_224 --top 1 " +
                        (d / "images/n00000000/img_0.jpg"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const int64_t best = std::max_element(want.data.begin(), want.data.begin() + 1000) - want.data.begin();
  EXPECT_NE(p.out.find(dataset_preset("imagenet").class_names.at(static_cast<size_t>(best))), std::string::npos)
      << "class " << best << " in: " << p.out;
}

// Where validate's eval settings come from: flags first, then timm's table
// for the model named (by --model or the checkpoint's "bitbench.model", any
// pretrained tag), then the checkpoint's own transform, then the data set.
TEST(EvalSettings, FlagsThenTimmTableThenCheckpointThenDataSet) {
  TransformConfig t;
  t.interpolation.clear();
  EXPECT_EQ(apply_model_eval_settings(t, "", {{"model", "vit_small_patch16_224.augreg_in21k_ft_in1k"}}, "m", 3),
            "timm vit_small_patch16_224.augreg_in21k_ft_in1k");
  EXPECT_EQ(t.crop_pct, 0.9);
  EXPECT_EQ(t.interpolation, "bicubic");
  EXPECT_EQ(t.mean, (std::vector<double>{0.5, 0.5, 0.5}));
  TransformConfig d3;
  d3.interpolation.clear();
  d3.crop_pct = 0.95;  // a flag wins over the table
  EXPECT_EQ(apply_model_eval_settings(d3, "deit3_small_patch16_224", {}, "m", 3), "timm deit3_small_patch16_224.fb_in1k");
  EXPECT_EQ(d3.crop_pct, 0.95);
  EXPECT_EQ(d3.std, (std::vector<double>{0.229, 0.224, 0.225}));
  TransformConfig c;
  c.interpolation.clear();
  EXPECT_EQ(apply_model_eval_settings(c, "", {{"transform", R"({"crop_pct": 1.0, "interpolation": "bicubic", "mean": [0.3], "std": [0.4]})"}}, "m", 1),
            "checkpoint");
  EXPECT_EQ(c.crop_pct, 1.0);
  EXPECT_EQ(c.interpolation, "bicubic");
  EXPECT_EQ(c.mean, (std::vector<double>{0.3}));
  TransformConfig n;
  n.interpolation.clear();
  EXPECT_EQ(apply_model_eval_settings(n, "vit_fmnist_tiny_patch4_28", {}, "m", 1), "data set");
  EXPECT_EQ(n.crop_pct, 0.0);
  EXPECT_TRUE(n.interpolation.empty());
  test::expect_error([&] { apply_model_eval_settings(n, "", {{"transform", "{oops"}}, "m.safetensors", 1); },
                     {"m.safetensors", "bitbench.transform"});
}

TEST(CliModel, ValidateLogitsAndTop1MatchTheLibrary) {
  test::TempDir d;
  std::vector<std::string> classes = {"c0", "c1", "c2", "c3", "c4", "c5", "c6"};
  write_image_folder_fixture(d / "data", classes, 3, 20, 18, "png");
  for (const char* backend : {"reference", "onednn"}) {
    SCOPED_TRACE(backend);
    auto r = run_bitbench(std::string("validate --dataset imagefolder --class-map by-index --data-dir ") + (d / "data") + " --checkpoint " +
                          kModel + " --backend " + backend + " -b 4 --crop-pct 0.9 --logits-out " + (d / "l.npy") +
                          " --results-file " + (d / "r.json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    NpyArray logits = read_npy(d / "l.npy");
    ASSERT_EQ(logits.shape, (std::vector<int64_t>{21, 7}));
    // The same images through the library: eval transform + reference forward.
    auto ds = load_image_folder(d / "data");
    LoadedViT m = load_vit(kModel);
    TransformConfig t;
    t.img_size = 16;
    t.crop_pct = 0.9;
    t.in_chans = 3;
    t.mean = {0.485, 0.456, 0.406};
    t.std = {0.229, 0.224, 0.225};
    Tensor x(Shape{21, 3, 16, 16});
    for (size_t i = 0; i < 21; ++i) eval_transform(ds->image(i), t, x.data() + i * 768);
    auto be = make_backend(ModelBackend::kReference);
    ViTRunner run(m.params, *be);
    TensorView out = run.forward(x.view());
    int correct = 0;
    for (int64_t i = 0; i < 21; ++i) {
      int best = 0;
      for (int k = 0; k < 7; ++k) {
        EXPECT_NEAR(logits.data[static_cast<size_t>(i * 7 + k)], out[i * 7 + k], 1e-4);
        if (out[i * 7 + k] > out[i * 7 + best]) best = k;
      }
      correct += best == ds->label(static_cast<size_t>(i));
    }
    auto res = nlohmann::json::parse(test::read_bytes(d / "r.json"));
    EXPECT_NEAR(res["top1"].get<double>(), 100.0 * correct / 21, 1e-3);
    EXPECT_EQ(res["top5_err"].get<double>() + res["top5"].get<double>(), 100.0);
    EXPECT_EQ(res["img_size"], 16);
    EXPECT_EQ(res["count"], 21);
    EXPECT_EQ(res["param_count"], 0.02);
  }
  // --first N: the first N images in file order (their logits are the first rows
  // of the whole set's); --limit N: a seeded subset spread over the set.
  {
    NpyArray all = read_npy(d / "l.npy");
    auto first = run_bitbench("validate --dataset imagefolder --class-map by-index --data-dir " + (d / "data") + " --checkpoint " + kModel +
                              " --backend onednn -b 4 --crop-pct 0.9 --first 5 --logits-out " + (d / "f.npy"));
    ASSERT_EQ(first.exit_code, 0) << first.err;
    NpyArray f = read_npy(d / "f.npy");
    ASSERT_EQ(f.shape, (std::vector<int64_t>{5, 7}));
    for (size_t i = 0; i < 35; ++i) EXPECT_EQ(f.data[i], all.data[i]) << i;
    auto both = run_bitbench("validate --dataset imagefolder --data-dir " + (d / "data") + " --checkpoint " + kModel +
                             " --first 5 --limit 5");
    EXPECT_NE(both.exit_code, 0);
    EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
  }
  auto csv = run_bitbench("validate --dataset imagefolder --class-map by-index --data-dir " + (d / "data") + " --checkpoint " + kModel +
                          " --results-format csv --results-file " + (d / "r.csv"));
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  auto text = test::read_bytes(d / "r.csv");
  std::string s(text.begin(), text.end());
  EXPECT_EQ(s.rfind("model,top1,top1_err,top5,top5_err,param_count,img_size,crop_pct,interpolation,mean,std,samples_per_sec", 0), 0u) << s;
  EXPECT_EQ(test::count_lines(s), 2);
}

TEST(CliModel, BadCheckpointsAndOutputsFailCleanly) {
  test::TempDir d;
  write_image_folder_fixture(d / "data", {"a", "b", "c", "d", "e", "f", "g"}, 1, 16, 16, "png");
  std::string base = "validate --dataset imagefolder --data-dir " + (d / "data") + " --results-file " + (d / "out/r.json");
  std::filesystem::create_directories(d / "out");
  auto bytes = test::read_bytes(kModel);
  bytes[3] = 0x7f;  // header length now absurd
  test::write_bytes(d / "bad.safetensors", bytes);
  struct Case {
    std::string args, expect;
  };
  for (const Case& c : {Case{base + " --checkpoint " + (d / "none.safetensors"), "none.safetensors: cannot open"},
                        Case{base + " --checkpoint " + (d / "bad.safetensors"), "bad.safetensors: offset 0: header length"},
                        Case{base + " --checkpoint " + kModel + " --model vit_base_patch16_224",
                             "--model vit_base_patch16_224 contradicts " + kModel + " (file / flag: depth 2 / 12"},
                        Case{"validate --dataset imagefolder --data-dir " + (d / "data") + " --checkpoint " + kModel +
                                 " --results-file " + (d / "nodir/r.json"),
                             "nodir: no such directory for --results-file"}}) {
    auto r = run_bitbench(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_TRUE(test::list_files(d / "out").empty());
  }
}

TEST(CliModel, PredictPrintsTopClasses) {
  test::TempDir d;
  write_image_folder_fixture(d.str(), {"x"}, 2, 16, 16, "jpg");
  auto r = run_bitbench("predict --checkpoint " + kModel + " --top 3 " + (d / "x/img_0.jpg") + " " + (d / "x/img_1.jpg"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::count_lines(r.out), 8);
  EXPECT_NE(r.out.find("  3. "), std::string::npos) << r.out;
  auto bad = run_bitbench("predict --checkpoint " + kModel + " " + (d / "missing.png"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("missing.png"), std::string::npos);
}

}  // namespace
}  // namespace bb

namespace bb {
namespace {

std::string fixture_config(const test::TempDir& d, int epochs, int checkpoint_every = 0) {
  write_mnist_fixture(d / "m", 240, 60, false, 12);
  test::write_text(d / "c.json", R"({"name": "t", "dataset": {"name": "mnist", "data_dir": ")" + (d / "m") + R"("},
    "model": {"img_size": 12, "patch_size": 4, "embed_dim": 16, "depth": 1, "num_heads": 2, "mlp_hidden": 16},
    "train": {"epochs": )" + std::to_string(epochs) + R"(, "checkpoint_every": )" + std::to_string(checkpoint_every) +
                                     R"(}, "loader": {"batch_size": 16}})");
  return d / "c.json";
}

TEST(CliTrain, TrainsAndWritesCheckpointAndHistory) {
  test::TempDir d;
  auto r = test::run_bitbench("train --config " + fixture_config(d, 2) + " --out " + (d / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("top-1"), std::string::npos) << r.out;
  auto hist = nlohmann::json::parse(test::read_bytes(d / "out/history.json"));
  EXPECT_EQ(hist.size(), 2u);
  auto info = test::run_bitbench("model info --json " + (d / "out/teacher.safetensors"));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["config"]["embed_dim"], 16);
}

TEST(CliTrain, CtrlCSavesAndSaysHowToResume) {
  test::TempDir d;
  std::string cfg = fixture_config(d, 100000, 1);
  // Start training, wait until its first checkpoint exists (so the handler is
  // installed and work is under way), then press Ctrl-C.
  std::string script = "BITBENCH_PROGRESS=off " + std::string(BITBENCH_EXE) + " train --config " + cfg + " --out " +
                       (d / "out") + " >" + (d / "stdout") + " 2>" + (d / "stderr") + " & pid=$!; " +
                       "for i in $(seq 1200); do [ -f " + (d / "out/checkpoint.safetensors") +
                       " ] && break; sleep 0.1; done; kill -INT $pid; wait $pid; echo $? >" + (d / "rc");
  ASSERT_EQ(std::system(("sh -c '" + script + "'").c_str()), 0);
  auto text = [&](const std::string& f) {
    auto b = test::read_bytes(d / f);
    return std::string(b.begin(), b.end());
  };
  std::string err = text("stderr");
  EXPECT_EQ(std::stoi(text("rc")), 130) << err;
  EXPECT_NE(err.find("resume with: bitbench train --config"), std::string::npos) << err;
  EXPECT_NO_THROW(SafetensorsFile::read(d / "out/checkpoint.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(d / "out/teacher.safetensors"));
  for (const auto& f : test::list_files(d / "out")) EXPECT_EQ(f.find(".tmp."), std::string::npos) << f;
}

TEST(CliTrain, BadConfigIsRefusedBeforeAnyOutput) {
  test::TempDir d;
  test::write_text(d / "c.json", R"({"train": {"epochs": "many"}})");
  auto r = test::run_bitbench("train --config " + (d / "c.json") + " --out " + (d / "out"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("c.json: /train/epochs: expected integer"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d / "out"));
}

TEST(CliDistill, TeacherToPackedStudentThatValidates) {
  test::TempDir d;
  auto t = test::run_bitbench("train --config " + fixture_config(d, 1) + " --out " + (d / "t"));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  test::write_text(d / "s.json", R"({"name": "s", "dataset": {"name": "mnist", "data_dir": ")" + (d / "m") + R"("},
    "transform": {"img_size": 12}, "loader": {"batch_size": 16}, "train": {"epochs": 1},
    "students": [{"quant": {"spec": "W1.58A8"}}]})");
  auto r = test::run_bitbench("distill --config " + (d / "s.json") + " --teacher " + (d / "t/teacher.safetensors") +
                              " --out " + (d / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("student_w1.58a8"), std::string::npos) << r.out;
  const std::string packed = d / "out/student_w1.58a8/student_w1.58a8.packed.safetensors";
  double top1[2];
  int i = 0;
  for (const std::string& ckpt : {d / "out/student_w1.58a8/student_w1.58a8.safetensors", packed}) {
    auto v = test::run_bitbench("validate --dataset mnist --data-dir " + (d / "m") + " --checkpoint " + ckpt +
                                " --results-file " + (d / "v.json"));
    ASSERT_EQ(v.exit_code, 0) << v.err;
    auto res = nlohmann::json::parse(test::read_bytes(d / "v.json"));
    EXPECT_EQ(res["quant"], "W1.58A8");
    top1[i++] = res["top1"].get<double>();
  }
  EXPECT_EQ(top1[0], top1[1]);  // latent weights (fake quant) and packed codes agree
  // Class names, data set and transform travel into the packed export as into the latent checkpoint.
  {
    const auto latent = SafetensorsFile::read(d / "out/student_w1.58a8/student_w1.58a8.safetensors").own_metadata();
    const auto pk = SafetensorsFile::read(packed).own_metadata();
    for (const char* k : {"class_names", "dataset", "transform", "recipe", "student"}) {
      ASSERT_TRUE(pk.count(k)) << k;
      EXPECT_EQ(pk.at(k), latent.at(k)) << k;
    }
    EXPECT_EQ(pk.at("dataset"), "mnist");
  }
  // The packed student on integer kernels: the fake-quant forward's predictions.
  NpyArray logits[3];
  int j = 0;
  for (const char* be : {"onednn", "bitkernels", "onednn-int8"}) {
    auto v = test::run_bitbench("validate --dataset mnist --data-dir " + (d / "m") + " --checkpoint " + packed +
                                " --backend " + be + " --logits-out " + (d / "l.npy") + " --results-file " + (d / "v.json"));
    ASSERT_EQ(v.exit_code, 0) << v.err;
    auto res = nlohmann::json::parse(test::read_bytes(d / "v.json"));
    EXPECT_EQ(res["backend"], be);
    logits[j++] = read_npy(d / "l.npy");
  }
  const int64_t C = logits[0].shape[1];
  for (int e = 1; e < 3; ++e)
    for (int64_t im = 0; im < logits[0].shape[0]; ++im) {
      const float* a = logits[0].data.data() + im * C;
      const float* b = logits[e].data.data() + im * C;
      EXPECT_EQ(std::max_element(a, a + C) - a, std::max_element(b, b + C) - b) << "engine " << e << " image " << im;
      for (int64_t c = 0; c < C; ++c) EXPECT_NEAR(a[c], b[c], 1e-3f * (1 + std::fabs(a[c])));
    }
  auto fp = test::run_bitbench("validate --dataset mnist --data-dir " + (d / "m") + " --checkpoint " +
                               (d / "t/teacher.safetensors") + " --backend bitkernels");
  EXPECT_NE(fp.exit_code, 0);
  EXPECT_NE(fp.err.find("fp32 model"), std::string::npos) << fp.err;
  auto info = test::run_bitbench("model info " + packed);
  EXPECT_NE(info.out.find("W1.58A8 (packed)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("in memory on bitkernels"), std::string::npos) << info.out;
  // Its bytes as the engine holds them: below the fp32 size (a dequantised copy would not be).
  auto info_json = nlohmann::json::parse(test::run_bitbench("model info --json " + packed).out);
  ASSERT_TRUE(info_json.contains("engine_bytes")) << info_json.dump();
  EXPECT_LT(info_json["engine_bytes"].get<int64_t>(), info_json["fp32_bytes"].get<int64_t>());
  EXPECT_GT(info_json["engine_bytes"].get<int64_t>(), 0);
}

// Issue #20's options end to end: a W1A2 student with absmean steps, RSign,
// RPReLU, the Bi-Real shortcut and attention on codes (q·kᵀ at A2, attention·v
// at A1 with a learnable probability scale), distilled with hidden-state and
// attention-map terms, is configured, trained, exported
// packed and run on the integer engine with the fake-quant forward's
// predictions; model info names the options.
TEST(CliDistill, LowBitOptionsTrainExportAndRunOnTheEngine) {
  test::TempDir d;
  auto t = test::run_bitbench("train --config " + fixture_config(d, 1) + " --out " + (d / "t"));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  test::write_text(d / "s.json", R"({"name": "s", "dataset": {"name": "mnist", "data_dir": ")" + (d / "m") + R"("},
    "transform": {"img_size": 12}, "loader": {"batch_size": 16}, "train": {"epochs": 1},
    "students": [{"name": "low", "quant": {"spec": "W1A2", "act_scale": "absmean", "attn_qk": "A2", "attn_pv": "a1"},
                  "model": {"rsign": true, "rprelu": true, "bireal": true, "attn_prob_scale": true},
                  "distill": {"hidden_mse": 0.5, "attn_mse": 1.0}}]})");
  auto r = test::run_bitbench("distill --config " + (d / "s.json") + " --teacher " + (d / "t/teacher.safetensors") +
                              " --out " + (d / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string latent = d / "out/low/low.safetensors", packed = d / "out/low/low.packed.safetensors";
  NpyArray logits[2];
  int i = 0;
  for (auto [ckpt, be] : {std::pair<std::string, const char*>{latent, "onednn"}, {packed, "bitkernels"}}) {
    auto v = test::run_bitbench("validate --dataset mnist --data-dir " + (d / "m") + " --checkpoint " + ckpt +
                                " --backend " + be + " --logits-out " + (d / "l.npy"));
    ASSERT_EQ(v.exit_code, 0) << v.err;
    logits[i++] = read_npy(d / "l.npy");
  }
  const int64_t C = logits[0].shape[1];
  for (int64_t im = 0; im < logits[0].shape[0]; ++im) {
    const float* a = logits[0].data.data() + im * C;
    const float* b = logits[1].data.data() + im * C;
    EXPECT_EQ(std::max_element(a, a + C) - a, std::max_element(b, b + C) - b) << "image " << im;
  }
  for (const std::string& f : {latent, packed}) {
    auto info = test::run_bitbench("model info " + f);
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_NE(info.out.find("bitlinear    absmean activation steps, RSign, RPReLU, Bi-Real shortcut"), std::string::npos)
        << info.out;
    EXPECT_NE(info.out.find("attention    q·kᵀ at A2, attention·v at A1 (learnable probability scale per head)"),
              std::string::npos)
        << info.out;
  }
  // An activation format that does not exist: one error naming the file and the key, nothing written.
  test::write_text(d / "bad.json", R"({"name": "bad", "dataset": {"name": "mnist", "data_dir": ")" + (d / "m") + R"("},
    "transform": {"img_size": 12}, "students": [{"quant": {"spec": "W1A2", "attn_pv": "A3"}}]})");
  auto bad = test::run_bitbench("distill --config " + (d / "bad.json") + " --teacher " + (d / "t/teacher.safetensors") +
                                " --out " + (d / "bad_out"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(test::count_lines(bad.err), 1) << bad.err;
  EXPECT_NE(bad.err.find("bad.json"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("attn_pv"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("unknown activation format \"A3\""), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(d / "bad_out"));
}

TEST(CliDistill, MissingTeacherIsOneClearError) {
  test::TempDir d;
  fixture_config(d, 1);
  test::write_text(d / "s.json", R"({"dataset": {"name": "mnist", "data_dir": ")" + (d / "m") + R"("},
    "transform": {"img_size": 12}, "students": [{"quant": {"spec": "W1A8"}}]})");
  auto r = test::run_bitbench("distill --config " + (d / "s.json") + " --teacher " + (d / "nope.safetensors") +
                              " --out " + (d / "out"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;  // the "distilling ..." line comes only once the inputs loaded
  EXPECT_NE(r.err.find("nope.safetensors: teacher checkpoint not found"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d / "out"));
}


// ------------------------------------------------------------ numbers that could be silently wrong (issue #31)

const std::string kZoo = std::string(BITBENCH_SOURCE_DIR) + "/models/zoo/";
const std::string kZooTeacher = kZoo + "fashion_mnist_default_teacher.safetensors";
const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// The file's tensors with other metadata (as a tool that re-saves it writes).
void write_resaved(const std::string& from, const std::string& to, const std::map<std::string, std::string>& meta) {
  const SafetensorsFile f = SafetensorsFile::read(from);
  std::vector<TensorToWrite> t;
  for (const auto& info : f.tensors()) t.push_back({info.name, info.shape, info.dtype, f.raw(info)});
  write_safetensors(to, t, meta);
}

// A path as one shell word (test file names hold spaces and newlines).
std::string q(const std::string& path) { return "'" + path + "'"; }

// validate's result fields from its stdout (the JSON after the summary lines).
nlohmann::json result_fields(const std::string& out) { return nlohmann::json::parse(out.substr(out.find('{'))); }

double validate_top1(const std::string& args) {
  auto r = run_bitbench("validate --time-seconds 0 " + args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  return r.exit_code == 0 ? result_fields(r.out)["top1"].get<double>() : -1;
}

// A refusal: exit 2, one line naming what to pass, nothing in out_dir.
void expect_refused(const std::string& args, const std::vector<std::string>& fragments, const std::string& out_dir) {
  auto r = run_bitbench(args, "BITBENCH_PROGRESS=plain");
  EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "missing \"" << f << "\" in " << r.err;
  if (!out_dir.empty()) {
    EXPECT_TRUE(test::list_files(out_dir).empty()) << "written before the refusal";
  }
}

TEST(Trust, TeacherStrippedOfItsConfigIsRefusedThenExactWithIt) {
  // Before: num_heads was guessed as embed_dim / 64 = 1 and validate reported 39.4 %.
  test::TempDir d;
  std::filesystem::create_directories(d / "out");
  write_resaved(kZooTeacher, d / "stripped.safetensors", {{"format", "pt"}});
  const std::string out = " --results-file " + (d / "out/r.json") + " --logits-out " + (d / "out/l.npy");
  expect_refused("validate --first 500 --checkpoint " + (d / "stripped.safetensors") + out,
                 {"stripped.safetensors", "cannot tell num_heads", "--model-config"}, d / "out");
  const double want = validate_top1("--first 500 --checkpoint " + kZooTeacher);
  test::write_text(d / "cfg.json", to_json(load_model(kZooTeacher).params.cfg).dump());
  EXPECT_EQ(validate_top1("--first 500 --checkpoint " + (d / "stripped.safetensors") + " --model-config " + (d / "cfg.json")), want);
  // model info shows what the weights say and that the head count is unknown.
  auto info = run_bitbench("model info " + (d / "stripped.safetensors"));
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("num_heads    unknown"), std::string::npos) << info.out;
}

// Fashion-MNIST test images written as an ImageFolder whose folders are the class names.
void write_named_folders(const std::string& root, int n) {
  DatasetConfig c;
  const auto ds = open_dataset(c, "test");
  for (int i = 0; i < n; ++i) {
    std::string name = kFashionNames[static_cast<size_t>(ds->label(static_cast<size_t>(i)))];
    std::replace(name.begin(), name.end(), '/', '_');  // "T-shirt_top": no folder name holds a '/'
    std::filesystem::create_directories(root + "/" + name);
    char file[32];
    std::snprintf(file, sizeof file, "/%05d.png", i);
    bb::write_file_atomic(root + "/" + name + file, bb::encode_png(ds->image(static_cast<size_t>(i))));
  }
}

TEST(Trust, ImageFolderOfClassNamesScoresAsTheDataSetItself) {
  // Before: labels were folder indices and the teacher scored 0.0 % on such folders.
  test::TempDir d;
  write_named_folders(d / "folders", 400);
  const double want = validate_top1("--first 400 --checkpoint " + kZooTeacher);
  ASSERT_GT(want, 80);
  const std::string folders = "--dataset imagefolder --data-dir " + (d / "folders") + " --checkpoint " + kZooTeacher;
  auto r = run_bitbench("validate --time-seconds 0 " + folders);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json f = result_fields(r.out);
  EXPECT_EQ(f["top1"].get<double>(), want);  // the same PNG pixels, the same classes
  EXPECT_NE(f["class_map"]["source"].get<std::string>().find("class names"), std::string::npos);
  EXPECT_EQ(f["class_map"]["mapping"]["Trouser"], 1);
  EXPECT_EQ(f["class_map"]["mapping"]["T-shirt_top"], 0);
  // A class-map file in the model's order gives the same; by-index is the old folder-index reading, now only on request.
  std::string lines;
  for (std::string n : kFashionNames) lines += n + "\n";
  test::write_text(d / "classes.txt", lines);
  EXPECT_EQ(validate_top1(folders + " --class-map " + (d / "classes.txt")), want);
  EXPECT_LT(validate_top1(folders + " --class-map by-index"), 50);
  // Without class names in the checkpoint the folders cannot be matched: refused.
  write_resaved(kZooTeacher, d / "nameless.safetensors", {{"bitbench.config", to_json(load_model(kZooTeacher).params.cfg).dump()}});
  expect_refused("validate --dataset imagefolder --data-dir " + (d / "folders") + " --checkpoint " + (d / "nameless.safetensors"),
                 {"labels are folder indices", "names no classes", "--class-map"}, "");
}

TEST(Trust, AFlagThatContradictsAPackedStudentIsRefused) {
  // Before: exit 0, evaluated at 28x28, "model": "deit_tiny_patch16_224" in the results.
  test::TempDir d;
  std::filesystem::create_directories(d / "out");
  expect_refused("validate --checkpoint " + kZoo + "student_w1a8.packed.safetensors --model deit_tiny_patch16_224 --results-file " +
                     (d / "out/r.json"),
                 {"--model deit_tiny_patch16_224 contradicts", "student_w1a8.packed.safetensors", "img_size 28 / 224"},
                 d / "out");
  expect_refused("predict --checkpoint " + kZooTeacher + " --model deit_tiny_patch16_224 x.png",
                 {"--model deit_tiny_patch16_224 contradicts"}, "");
}

TEST(Trust, ResultsFormatFollowsTheExtensionAndGlobalFlagsGoAnywhere) {
  // Before: r.csv held JSON, and `validate --threads 1` was refused.
  test::TempDir d;
  auto r = run_bitbench("validate --threads 1 --first 50 --time-seconds 0 --checkpoint " + kZooTeacher + " --results-file " + (d / "r.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string csv = test::read_text(d / "r.csv");
  EXPECT_EQ(csv.rfind("model,top1,", 0), 0u) << csv;
  EXPECT_EQ(result_fields(r.out)["threads"], 1);
  r = run_bitbench("validate --first 50 --time-seconds 0 --checkpoint " + kZooTeacher + " --results-file " + (d / "r2.csv") +
                   " --results-format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(test::read_text(d / "r2.csv"))["count"], 50);
  r = run_bitbench("model info " + kZooTeacher + " --threads 1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Trust, AnImageAsCheckpointIsNamedAsAnImage) {
  // Before: "header length 727905341920923785 above the limit".
  test::TempDir d;
  write_named_folders(d / "f", 1);
  const std::string png = test::list_files(d / "f").back();
  expect_refused("validate --checkpoint " + q(png), {png, "not a safetensors file (it looks like a PNG image)"}, "");
}

TEST(Trust, PredictClassifiesTheReadableImagesAndNamesTheOthers) {
  // Before: one bad image and nothing was printed for the good ones.
  test::TempDir d;
  write_named_folders(d / "f", 2);
  std::vector<std::string> good;
  for (const auto& p : test::list_files(d / "f"))
    if (std::filesystem::is_regular_file(p)) good.push_back(p);
  ASSERT_EQ(good.size(), 2u);
  test::write_text(d / "bad\nname.png", "not an image");  // a newline in a name must not split the error line
  auto r = run_bitbench("predict --checkpoint " + kZooTeacher + " " + q(good[0]) + " " + q(d / "bad\nname.png") + " " + q(good[1]));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find(good[0]), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(good[1]), std::string::npos) << r.out;
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("1 of 3 images could not be read"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad\\nname.png"), std::string::npos) << r.err;
}

TEST(Trust, BadInputsAreRefusedBeforeAnyWorkOrOutput) {
  test::TempDir d;
  std::filesystem::create_directories(d / "out");
  const std::string logits = " --logits-out " + (d / "out/l.npy");
  // A folder where the results file goes: refused before the evaluation, not after it.
  std::filesystem::create_directories(d / "out/r.json");
  expect_refused("validate --checkpoint " + kZooTeacher + logits + " --results-file " + (d / "out/r.json"),
                 {"--results-file", "is a folder"}, "");
  EXPECT_FALSE(std::filesystem::exists(d / "out/l.npy"));
  std::filesystem::remove(d / "out/r.json");
  // No settings banner before the refusal of a missing folder.
  expect_refused("validate --dataset imagefolder --data-dir " + (d / "none") + " --checkpoint " + kZooTeacher,
                 {"none", "no such directory"}, "");
  // What a checkpoint states is used or refused, never skipped or turned into -nan.
  const nlohmann::json cfg = to_json(load_model(kZooTeacher).params.cfg);
  const std::map<std::string, std::string> base = {{"bitbench.config", cfg.dump()},
                                                   {"bitbench.class_names", nlohmann::json(kFashionNames).dump()}};
  struct Case {
    std::string key, value, expect;
  };
  for (const Case& c : {Case{"bitbench.transform", R"({"std": [0]})", "bitbench.transform std [0] holds a value that is not a positive number"},
                        Case{"bitbench.transform", R"({"crop_pct": 5e-07})", "bitbench.transform crop_pct 5e-07 is outside [0.01, 1]"},
                        Case{"bitbench.transform", R"({"mean": [0.1, 0.2, 0.3]})", "is not 1 number(s)"},
                        Case{"bitbench.class_names", "\"42\"", "bitbench.class_names is not a JSON array of strings"},
                        Case{"bitbench.class_names", R"(["a", "b"])", "names 2 classes, the model has 10"}}) {
    SCOPED_TRACE(c.value);
    std::map<std::string, std::string> meta = base;
    meta[c.key] = c.value;
    write_resaved(kZooTeacher, d / "t.safetensors", meta);
    expect_refused("validate --first 10 --checkpoint " + (d / "t.safetensors") + logits, {"t.safetensors", c.expect}, d / "out");
    write_named_folders(d / "one", 1);
    expect_refused("predict --checkpoint " + (d / "t.safetensors") + " " + q(test::list_files(d / "one").back()),
                   {"t.safetensors", c.expect}, "");
  }
  // A class folder whose name is not UTF-8 (class names go into JSON): refused, naming it, before the logits are written.
  write_named_folders(d / "latin1", 3);
  std::filesystem::rename(d / "latin1/Ankle boot", d / "latin1/Ankle\xe9");
  expect_refused("validate --dataset imagefolder --data-dir " + q(d / "latin1") + " --checkpoint " + kZooTeacher + logits,
                 {"latin1/Ankle\\xe9: class folder name is not valid UTF-8"}, d / "out");
}

}  // namespace
}  // namespace bb
