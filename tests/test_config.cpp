#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "core/file_io.hpp"
#include "core/json_reader.hpp"
#include "eval/bench_config.hpp"
#include "eval/distill.hpp"
#include "eval/run_config.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

RunConfig parse(const std::string& text) { return parse_run_config(parse_json_text(text, "x.json"), "x.json"); }

void expect_config_error(const std::string& text, const std::string& expected) {
  test::expect_error([&] { parse(text); }, {expected});
}

TEST(Config, DefaultsAreTheEmbeddedFashionMnist) {
  RunConfig c = default_run_config();
  EXPECT_EQ(c.data.dataset.name, "fashion-mnist");
  EXPECT_EQ(c.data.dataset.data_dir, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(c.data.dataset.eval_split, "test");
  EXPECT_EQ(c.data.transform.img_size, 28);
  EXPECT_EQ(c.data.transform.in_chans, 1);
  ASSERT_EQ(c.data.transform.mean.size(), 1u);
  EXPECT_NEAR(c.data.transform.mean[0], 0.2860, 1e-9);
}

TEST(Config, PresetsFollowTheDataSetAndUserValuesWin) {
  RunConfig c = parse(R"({"dataset": {"name": "cifar10", "data_dir": "/d"}, "transform": {"img_size": 40}})");
  EXPECT_EQ(c.data.transform.img_size, 40);
  EXPECT_EQ(c.data.transform.in_chans, 3);
  EXPECT_EQ(c.data.transform.mean.size(), 3u);
  EXPECT_EQ(c.data.augment.pad, 4);
  EXPECT_EQ(c.model.img_size, 40);  // the model follows the data
  EXPECT_EQ(c.model.in_chans, 3);
  RunConfig g = parse(R"({"dataset": {"name": "fashion-mnist"}, "transform": {"in_chans": 3}})");
  ASSERT_EQ(g.data.transform.mean.size(), 3u);  // gray statistics repeated per channel
  EXPECT_EQ(g.data.transform.mean[0], g.data.transform.mean[2]);
}

TEST(Config, RoundTripsThroughShow) {
  RunConfig c = parse(R"({"name": "t", "seed": 5, "dataset": {"name": "imagenet", "data_dir": "/in"},
                          "loader": {"batch_size": 7}})");
  RunConfig again = parse(to_json(c).dump());
  EXPECT_EQ(to_json(c), to_json(again));
  EXPECT_EQ(again.loader.batch_size, 7);
  EXPECT_EQ(again.data.transform.crop_pct, 0.875);
}

// The resize kernel is part of a recipe wherever a resize runs (so a cached
// stage made with another resize is not reused), and absent where none runs
// (a data set at its native size and crop 1.0: those recipes' hashes held
// when Pillow's resize became the default).
TEST(Config, ResizeEntersTheRecipeWhereAResizeRuns) {
  auto transform_of = [](const std::string& text) { return to_json(parse(text))["transform"]; };
  EXPECT_FALSE(transform_of(R"({"dataset": {"name": "fashion-mnist"}})").contains("resize"));
  EXPECT_FALSE(transform_of(R"({"dataset": {"name": "cifar10", "data_dir": "/d"}})").contains("resize"));
  EXPECT_EQ(transform_of(R"({"dataset": {"name": "cifar10", "data_dir": "/d"}, "transform": {"img_size": 40}})")["resize"], "pillow");
  EXPECT_EQ(transform_of(R"({"dataset": {"name": "fashion-mnist"}, "transform": {"crop_pct": 0.875}})")["resize"], "pillow");
  EXPECT_EQ(transform_of(R"({"dataset": {"name": "imagenet", "data_dir": "/in"}})")["resize"], "pillow");
  EXPECT_EQ(transform_of(R"({"dataset": {"name": "fashion-mnist"}, "transform": {"resize": "opencv"}})")["resize"], "opencv");
}

TEST(Config, WrongTypeNamesFileAndPath) {
  expect_config_error(R"({"transform": {"crop_pct": "big"}})",
                      R"(x.json: /transform/crop_pct: expected number in [0.01, 1], got "big")");
  expect_config_error(R"({"loader": {"batch_size": 1.5}})", "x.json: /loader/batch_size: expected integer");
  expect_config_error(R"({"augment": {"random_resized_crop": 1}})", "/augment/random_resized_crop: expected true or false");
  expect_config_error(R"({"dataset": "cifar10"})", "x.json: /dataset: expected an object");
  expect_config_error(R"({"seed": -1})", "/seed: expected non-negative integer");
}

TEST(Config, OutOfRangeModelInputIsRefusedWithItsPath) {  // found by fuzz_config: -1 sized a vector
  expect_config_error(R"({"model": {"in_chans": -1}})", "/model/in_chans: expected integer in [1, 64], got -1");
  expect_config_error(R"({"model": {"img_size": 0}})", "/model/img_size: expected integer in [1, 8192], got 0");
}

TEST(Config, OutOfRangeAndUnknownValues) {
  expect_config_error(R"({"transform": {"crop_pct": 1.5}})", "/transform/crop_pct: expected number in [0.01, 1], got 1.5");
  expect_config_error(R"({"transform": {"crop_pct": 0}})", "/transform/crop_pct");
  expect_config_error(R"({"loader": {"batch_size": 0}})", "/loader/batch_size: expected integer in [1, 65536], got 0");
  expect_config_error(R"({"dataset": {"name": "svhn"}})", R"(/dataset/name: expected one of "fashion-mnist")");
  expect_config_error(R"({"transform": {"mean": [0.5, 2.0, 0.5]}})", "/transform/mean/1: expected number in [0, 1], got 2.0");
  expect_config_error(R"({"dataset": {"name": "cifar10"}, "transform": {"mean": [0.5]}})",
                      "/transform/mean: expected 3 values (in_chans), got 1");
  expect_config_error(R"({"augment": {"scale": [0.9, 0.1]}})", "/augment/scale: expected [min, max]");
}

TEST(Config, ModelAndDataMustAgree) {
  expect_config_error(R"({"model": {"img_size": 32}, "transform": {"img_size": 28}})",
                      "x.json: /transform/img_size: is 28 but /model/img_size is 32");
  EXPECT_EQ(parse(R"({"model": {"img_size": 32}})").data.transform.img_size, 32);  // the stated one wins
  expect_config_error(R"({"model": {"preset": "vit_nope"}})", "x.json: /model/preset: unknown model preset");
  expect_config_error(R"({"train": {"lr": 0}})", "x.json: /train/lr: expected number in (0, 10]");
  RunConfig c = parse(R"({"dataset": {"name": "imagenet", "data_dir": "/x"}, "model": {"preset": "deit_tiny_patch16_224"}})");
  EXPECT_EQ(c.model.num_classes, 1000);
  EXPECT_EQ(c.model.img_size, 224);
}

TEST(Config, UnknownKeysAreRefusedWithTheirPath) {
  expect_config_error(R"({"datset": {}})", "x.json: /datset: unknown key");
  expect_config_error(R"({"dataset": {"nmae": "mnist"}})", "x.json: /dataset/nmae: unknown key");
  test::expect_error([] { parse(R"({"loader": {"batch": 1, "wrkers": 2}})"); }, {"/loader/batch: unknown key", "\"wrkers\"", "known here:"});
}

TEST(Config, SyntaxErrorsNameTheByte) {
  test::expect_error([] { parse_json_text("{\"a\": [1, 2,, 3]}", "bad.json"); }, {"bad.json: offset", "invalid JSON"});
  test::TempDir d;
  test::expect_error([&] { load_run_config(d / "missing.json"); }, {"missing.json", "cannot open"});
}

TEST(Config, ShippedConfigsAreValid) {
  for (const auto& e : std::filesystem::directory_iterator(std::string(BITBENCH_SOURCE_DIR) + "/configs")) {
    if (e.path().extension() != ".json") continue;
    SCOPED_TRACE(e.path().string());
    const nlohmann::json j = parse_json_file(e.path().string());
    if (is_bench_config(j)) {
      BenchConfig b;
      EXPECT_NO_THROW(b = load_bench_config(e.path().string()));
      // Its recipes are shipped configs too and must load.
      if (!b.teacher_train.empty()) {
        EXPECT_NO_THROW(load_run_config(b.teacher_train));
      }
      if (!b.students_distill.empty()) {
        EXPECT_NO_THROW(load_distill_config(b.students_distill));
      }
    } else if (is_distill_config(j)) {
      DistillRunConfig d;
      EXPECT_NO_THROW(d = load_distill_config(e.path().string()));
      EXPECT_FALSE(d.students.empty());
    } else {
      EXPECT_NO_THROW(load_run_config(e.path().string()));
    }
  }
}

TEST(Config, EveryResolvedKeyIsDocumented) {
  std::string doc = read_file_text(std::string(BITBENCH_SOURCE_DIR) + "/docs/CONFIG.md");
  nlohmann::json j = to_json(default_run_config());
  for (auto& [section, value] : j.items()) {
    EXPECT_NE(doc.find("`" + section + "`"), std::string::npos) << "docs/CONFIG.md lacks " << section;
    if (!value.is_object()) continue;
    for (auto& [key, v] : value.items()) {
      EXPECT_NE(doc.find("`" + section + "." + key + "`"), std::string::npos)
          << "docs/CONFIG.md lacks " << section << "." << key;
    }
  }
}

}  // namespace
// Found by fuzz_config: a number beyond double made nlohmann throw out_of_range
// past the JSON error handling (an internal error instead of a clear refusal).
TEST(Config, NumberOverflowIsAnInputError) {
  test::TempDir d;
  test::write_text(d / "c.json", R"({"seed": 12e1200020000000})");
  test::expect_error([&] { load_run_config(d / "c.json"); }, {"c.json", "invalid JSON", "number overflow"});
}

}  // namespace bb
