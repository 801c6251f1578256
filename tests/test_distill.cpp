// Distillation and student export: the KD gradient by finite differences, a
// tiny student's loss falling, packed formats on odd row lengths, a packed
// export reloading to the fake-quant weights (and logits), a two-stage chain
// end to end, the adaptive schedule's early stop, config errors, the
// teacher's logits shared between students, and the mixed-precision search
// (a layer made fragile on purpose is the one it keeps).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "core/interrupt.hpp"
#include "core/json_reader.hpp"
#include "core/rng.hpp"
#include "datasets/fixtures.hpp"
#include "eval/distill.hpp"
#include "eval/energy_model.hpp"
#include "eval/precision_search.hpp"
#include "models/int_engine.hpp"
#include "kernels/quant_format.hpp"
#include "models/checkpoint.hpp"
#include "models/layers.hpp"
#include "models/packed.hpp"
#include "models/quant_plan_json.hpp"
#include "models/safetensors.hpp"
#include "models/vit.hpp"
#include "train/adamw.hpp"
#include "train/teacher_logit_cache.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

ViTConfig tiny(int depth = 2) {
  ViTConfig c;
  c.img_size = 12; c.patch_size = 4; c.in_chans = 1; c.embed_dim = 16; c.depth = depth; c.num_heads = 2;
  c.mlp_hidden = 32; c.num_classes = 10;
  return c;
}

TEST(SoftDistill, GradientMatchesFiniteDifferences) {
  const int64_t B = 3, K = 5;
  Rng r(1);
  std::vector<float> s(B * K), t(B * K), ds(B * K, 0.0f);
  for (auto& v : s) v = static_cast<float>(2 * r.normal());
  for (auto& v : t) v = static_cast<float>(2 * r.normal());
  const float loss = soft_distill_loss(s.data(), t.data(), ds.data(), B, K, 4.0f, 1.0f);
  EXPECT_GT(loss, 0.0f);
  EXPECT_NEAR(soft_distill_loss(t.data(), t.data(), nullptr, B, K, 4.0f, 1.0f), 0.0f, 1e-6f);  // KL(p‖p) = 0
  for (size_t i = 0; i < s.size(); ++i) {
    const float keep = s[i];
    s[i] = keep + 1e-2f;
    const double up = soft_distill_loss(s.data(), t.data(), nullptr, B, K, 4.0f, 1.0f);
    s[i] = keep - 1e-2f;
    const double down = soft_distill_loss(s.data(), t.data(), nullptr, B, K, 4.0f, 1.0f);
    s[i] = keep;
    EXPECT_NEAR((up - down) / 2e-2, ds[i], 2e-3 + 2e-2 * std::fabs(ds[i])) << i;
  }
}

TEST(PackedFormats, RoundTripOnOddRowLengths) {
  for (WeightFormat f : {WeightFormat::kTernary, WeightFormat::kBinary, WeightFormat::kInt2, WeightFormat::kInt4,
                         WeightFormat::kInt8, WeightFormat::kTernaryRow}) {
    const WeightFormatTraits& t = weight_traits(f);
    SCOPED_TRACE(t.storage);
    EXPECT_EQ(&weight_traits_by_storage(std::string(t.storage)), &t);
    for (int64_t K : {1, 4, 5, 7, 13, 64, 65}) {
      Rng r(static_cast<uint64_t>(K));
      std::vector<int8_t> codes(static_cast<size_t>(K)), back(codes.size());
      for (auto& c : codes) {
        c = static_cast<int8_t>(t.min_code + static_cast<int>(r.below(static_cast<uint64_t>(t.max_code - t.min_code + 1))));
        if (f == WeightFormat::kBinary && c == 0) c = 1;  // binary holds ±1 only
      }
      std::vector<uint8_t> bytes(static_cast<size_t>(row_bytes(t, K)), 0xAA);
      t.pack(codes.data(), K, bytes.data());
      t.unpack(bytes.data(), K, back.data());
      EXPECT_EQ(codes, back) << "K " << K;
    }
  }
  EXPECT_EQ(row_bytes(weight_traits(WeightFormat::kTernary), 13), 3);  // tq1: 5 per byte
  EXPECT_EQ(row_bytes(weight_traits(WeightFormat::kBinary), 13), 2);
  // The message lists every stored format.
  test::expect_error([] { weight_traits_by_storage("q3"); }, {"\"q3\"", "tq1, b1, q2, q4, q8, tq1r"}, ErrorKind::Usage);
}

// One schema for a plan in configs and files: what to_json writes reads back
// as the same plan, a block whose Linears differ is written as its four specs,
// and a config's section reads as the plan it names.
TEST(QuantPlanJson, OneSchemaRoundTripsAndConfigsSpellItTheSame) {
  QuantPlan p = QuantPlan::uniform(3, parse_quant_spec("W1.58A8"));
  p.blocks[0] = {parse_quant_spec("W8A8"), parse_quant_spec("W8A8"), parse_quant_spec("W8A8"), parse_quant_spec("W8A8")};
  p.blocks[2][3] = parse_quant_spec("W4A8");
  p.subln = true;
  p.attn_pv = parse_act_format("A8");
  const nlohmann::json j = to_json(p);
  EXPECT_EQ(j, nlohmann::json::parse(R"({"spec": "W1.58A8", "patch_embed": "FP32", "head": "FP32", "subln": true,
      "ste": "clipped", "attn_pv": "A8", "blocks": {"0": "W8A8", "2": ["W1.58A8", "W1.58A8", "W1.58A8", "W4A8"]}})"));
  EXPECT_EQ(to_json(quant_plan_from_json(j, 3, "f", "/q")), j);
  // The same plan as a config section (every key optional, defaults filled in;
  // the default spec is the zoo's main format, W1.58rA8).
  EXPECT_EQ(quant_plan_from_json(nlohmann::json::object(), 1, "c.json", "/q").spec.name(), "W1.58rA8");
  const QuantPlan c = quant_plan_from_json(nlohmann::json::parse(R"({"spec": "W1.58A8", "subln": true, "attn_pv": "A8",
      "blocks": {"0": "W8A8", "2": ["W1.58A8", "W1.58A8", "W1.58A8", "W4A8"]}})"), 3, "c.json", "/students/0/quant");
  EXPECT_EQ(to_json(c), j);
  EXPECT_FALSE(quant_plan_from_json(nlohmann::json::parse(R"({"ste": "identity"})"), 1, "f", "/q").ste_clip);
  // Errors name the key.
  auto error_of = [](const char* text, int depth) {
    try {
      (void)quant_plan_from_json(nlohmann::json::parse(text), depth, "c.json", "/q");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(R"({"blocks": {"0": ["W8A8", "W8A8"]}})", 1).find("/q/blocks/0"), std::string::npos);
  EXPECT_NE(error_of(R"({"blocks": {"0": ["W8A8", "W8A8", "W8A8", "W9A8"]}})", 1).find("/q/blocks/0/3"), std::string::npos);
  EXPECT_NE(error_of(R"({"ste": "clipped", "ste_clip": true})", 1).find("/q/ste_clip"), std::string::npos);
  EXPECT_NE(error_of(R"({"stee": "clipped"})", 1).find("stee"), std::string::npos);
}

// Files written before the one schema ("ste_clip" and every block listed, as
// the zoo's students were written) read as the same plan; a list of the wrong length is refused.
TEST(QuantPlanJson, TheOldFileSpellingStillReads) {
  const nlohmann::json old = nlohmann::json::parse(R"({"spec": "W1A8", "subln": false, "ste_clip": false,
      "patch_embed": "FP32", "head": "W8A8", "act_ste": "clipped",
      "blocks": [["W8A8", "W8A8", "W8A8", "W8A8"], ["W1A8", "W1A8", "W1A8", "W1A8"]]})");
  const QuantPlan p = quant_plan_from_json(old, 2, "old.safetensors", "/__metadata__/bitbench.quant");
  EXPECT_EQ(p.spec.name(), "W1A8");
  EXPECT_FALSE(p.ste_clip);
  EXPECT_TRUE(p.act_ste_clip);
  EXPECT_EQ(p.head.name(), "W8A8");
  EXPECT_EQ(p.blocks[0][2].name(), "W8A8");
  EXPECT_EQ(p.blocks[1][0].name(), "W1A8");
  EXPECT_EQ(to_json(p), nlohmann::json::parse(R"({"spec": "W1A8", "patch_embed": "FP32", "head": "W8A8", "subln": false,
      "ste": "identity", "act_ste": "clipped", "blocks": {"0": "W8A8"}})"));
  EXPECT_THROW(quant_plan_from_json(old, 3, "old.safetensors", "/q"), Error);
}

// A packed file whose metadata has the old spelling loads as the plan it was written with.
TEST(PackedExport, AFileWithTheOldPlanSpellingLoads) {
  test::TempDir dir;
  ViTParams p(tiny());
  p.init_random(3);
  QuantPlan plan = QuantPlan::uniform(p.cfg.depth, parse_quant_spec("W1.58A8"));
  plan.blocks[0] = {parse_quant_spec("W8A8"), parse_quant_spec("W8A8"), parse_quant_spec("W8A8"), parse_quant_spec("W8A8")};
  const std::string path = dir / "s.packed.safetensors", old_path = dir / "old.packed.safetensors";
  write_packed_student(path, p, plan);
  const SafetensorsFile f = SafetensorsFile::read(path);
  std::vector<TensorToWrite> t;
  for (const TensorInfo& i : f.tensors()) t.push_back({i.name, i.shape, i.dtype, f.raw(i)});
  std::map<std::string, std::string> meta = f.metadata();
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : plan.blocks) blocks.push_back({b[0].name(), b[1].name(), b[2].name(), b[3].name()});
  meta["bitbench.quant"] = nlohmann::json{{"spec", "W1.58A8"}, {"subln", false}, {"ste_clip", true}, {"patch_embed", "FP32"},
                                          {"head", "FP32"}, {"blocks", blocks}}.dump();
  write_safetensors(old_path, t, meta);
  const PackedStudent now = read_packed_student(path), before = read_packed_student(old_path);
  EXPECT_EQ(to_json(before.plan), to_json(plan));
  EXPECT_EQ(to_json(now.plan), to_json(plan));
  EXPECT_TRUE(std::equal(now.params.flat.data(), now.params.flat.data() + now.params.count(), before.params.flat.data()));
  // A list of another length than the model's depth: refused, naming the file.
  blocks.push_back(blocks[0]);
  meta["bitbench.quant"] = nlohmann::json{{"spec", "W1.58A8"}, {"ste_clip", true}, {"blocks", blocks}}.dump();
  write_safetensors(old_path, t, meta);
  try {
    (void)read_packed_student(old_path);
    ADD_FAILURE() << "a plan listing more blocks than the model was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("old.packed.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("blocks"), std::string::npos) << e.what();
  }
}

TEST(PackedExport, ReloadsToTheFakeQuantWeightsAndLogits) {
  test::TempDir dir;
  ViTConfig c = tiny();
  c.num_classes = 7;  // head rows not a multiple of anything
  ViTParams p(c);
  p.init_random(5);
  Tensor x(Shape{2, 1, 12, 12});
  Rng r(6);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  auto be = make_backend(ModelBackend::kOnednn);
  for (const char* spec : {"W1.58A8", "W1A8", "W2A8", "W4A8", "W8A8", "W1A1"}) {
    SCOPED_TRACE(spec);
    QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec(spec));
    plan.blocks[0] = {parse_quant_spec("W8A8"), parse_quant_spec("W8A8"), parse_quant_spec("W8A8"), parse_quant_spec("W8A8")};
    plan.head = parse_quant_spec("W4A8");
    const std::string path = dir / (std::string(spec) + ".packed.safetensors");
    write_packed_student(path, p, plan);
    PackedStudent s = read_packed_student(path);
    EXPECT_EQ(to_json(s.plan), to_json(plan));
    EXPECT_EQ(static_cast<int>(s.layers.size()), 4 * c.depth + 1);
    for (const PackedLayer& l : s.layers) {
      const ParamEntry* e = p.find(l.name);
      ASSERT_NE(e, nullptr) << l.name;
      const QuantSpec sp = l.name == "head.weight" ? plan.head : plan.blocks[l.name[7] - '0'][0];
      std::vector<int8_t> codes(static_cast<size_t>(l.N * l.K));
      std::vector<float> wq(codes.size()), scales(static_cast<size_t>(l.N));
      fake_quant_weights(weight_traits(sp.w), p.data(*e), l.N, l.K, codes.data(), wq.data(), scales.data());
      const float* got = s.params.data(*s.params.find(l.name));
      for (size_t i = 0; i < wq.size(); ++i) ASSERT_EQ(got[i], wq[i]) << l.name << " " << i;
    }
    ViTRunner fake(p, *be, false, &plan), packed(s.params, *be, false, &s.plan);
    TensorView a = fake.forward(x.view());
    std::vector<float> la(a.data(), a.data() + a.numel());
    TensorView b = packed.forward(x.view());
    for (int64_t i = 0; i < b.numel(); ++i) EXPECT_NEAR(b.data()[i], la[static_cast<size_t>(i)], 1e-5f);
    // Packed weights are a fraction of fp32 ones.
    EXPECT_LT(s.packed_bytes, quantized_weight_count(p, plan) * 4 / 3);
  }
  // A corrupt packed file names itself.
  test::write_text(dir / "bad.safetensors", "not a safetensors file");
  try {
    read_packed_student(dir / "bad.safetensors");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
  }
}

TEST(Distill, TinyStudentLossFallsOnAFixedBatch) {
  ViTConfig c = tiny();
  ViTParams teacher(c), student(c);
  teacher.init_random(1);
  student.init_random(2);
  QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec("W1.58A8"));
  DistillConfig dc;
  dc.hidden_mse = 0.5;
  DistillObjective obj(teacher, nullptr, dc, 0.0f);
  auto be = make_backend(ModelBackend::kOnednn);
  ViTRunner run(student, *be, true, &plan);
  Tensor x(Shape{16, 1, 12, 12});
  Rng r(3);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
  Batch b;
  b.images = x.view();
  for (int i = 0; i < 16; ++i) b.labels.push_back(i % 10);
  AdamW opt(student.count(), weight_decay_mask(student));
  TrainConfig tc;
  std::vector<float> grads(static_cast<size_t>(student.count()));
  StepGrads g;
  float first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    TensorView logits = run.forward(x.view());
    last = obj.step(b, run, logits, g);
    if (step == 0) first = last;
    std::fill(grads.begin(), grads.end(), 0.0f);
    run.backward(g.dlogits.data(), grads.data(), nullptr, &g.dblock_ptrs);
    opt.step(student.flat.data(), grads.data(), 3e-3, tc);
  }
  EXPECT_LT(last, 0.7f * first) << "first " << first << " last " << last;
}

class DistillRun : public ::testing::Test {
 protected:
  void SetUp() override {
    write_mnist_fixture(data_ / "m", 200, 100, false, 12);
    ViTParams t(tiny());
    t.init_random(9);
    save_vit(data_ / "teacher.safetensors", t);
  }
  std::string config(const std::string& students, const std::string& train = R"({"epochs": 1, "lr": 0.002})") {
    return R"({"name": "d", "seed": 1, "dataset": {"name": "mnist", "data_dir": ")" + (data_ / "m") + R"("},
      "transform": {"img_size": 12}, "loader": {"batch_size": 32, "eval_batch_size": 50},
      "teacher": ")" + (data_ / "teacher.safetensors") + R"(", "train": )" + train + R"(, "students": )" + students + "}";
  }
  DistillRunConfig parse(const std::string& j) { return parse_distill_config(parse_json_text(j, "d.json"), "d.json"); }
  // The message a config with these students is refused with ("no error" when it is accepted).
  std::string error_of(const std::string& students) {
    try {
      parse(config(students));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  }
  test::TempDir data_;
};

TEST_F(DistillRun, TwoStageChainWritesBothStudentsAndTheSummary) {
  test::TempDir out;
  DistillRunConfig c = parse(config(R"([{"quant": {"spec": "W8A8"}},
                                         {"quant": {"spec": "W1.58A8"}, "from": "student_w8a8"}])"));
  DistillOutcome r = run_distillation(c, out.str(), false, false);
  ASSERT_EQ(r.students.size(), 2u);
  EXPECT_EQ(r.students[1].from, "student_w8a8");
  EXPECT_GT(r.students[1].ternary_zeros, 0.0);
  EXPECT_LT(r.students[1].ternary_zeros, 1.0);
  for (const auto& s : r.students) {
    EXPECT_TRUE(std::filesystem::exists(s.path)) << s.path;
    EXPECT_TRUE(std::filesystem::exists(s.packed_path)) << s.packed_path;
    LoadedViT m = load_vit(s.path);
    EXPECT_NE(m.metadata.at("quant").find(s.spec), std::string::npos);
  }
  EXPECT_EQ(load_vit(r.students[1].path).metadata.at("teacher"), "student_w8a8");
  nlohmann::json summary = parse_json_file(r.summary_path);
  EXPECT_EQ(summary["students"].size(), 2u);
  EXPECT_EQ(summary["students"][0]["name"], "student_w8a8");
}

TEST_F(DistillRun, InterruptedChainResumesToTheSameStudents) {
  test::TempDir full, cut;
  const std::string students = R"([{"quant": {"spec": "W1.58A8"}}, {"quant": {"spec": "W1A8"}, "from": "student_w1.58a8"}])";
  DistillRunConfig c = parse(config(students, R"({"epochs": 2, "lr": 0.002, "checkpoint_every": 1})"));
  DistillOutcome r = run_distillation(c, full.str(), false, false);
  ASSERT_FALSE(r.interrupted);
  // Interrupt inside the second student's first epoch, as Ctrl-C would.
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    for (int i = 0; i < 4000 && !stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (std::filesystem::exists(cut / "student_w1a8/checkpoint.safetensors")) {
        request_interrupt();
        break;
      }
    }
  });
  DistillOutcome first = run_distillation(c, cut.str(), false, false);
  stop = true;
  watcher.join();
  clear_interrupt();
  ASSERT_TRUE(first.interrupted);
  EXPECT_FALSE(std::filesystem::exists(cut / "student_w1a8/student_w1a8.safetensors"));
  DistillOutcome second = run_distillation(c, cut.str(), true, false);
  ASSERT_FALSE(second.interrupted);
  ASSERT_EQ(second.students.size(), 2u);
  for (const char* f : {"student_w1.58a8/student_w1.58a8.safetensors", "student_w1a8/student_w1a8.safetensors",
                        "student_w1a8/student_w1a8.packed.safetensors"})
    EXPECT_EQ(test::tensor_bytes(full / f), test::tensor_bytes(cut / f)) << f;
  EXPECT_EQ(second.students[1].top1, r.students[1].top1);
}

// The cache keys a batch by its pixels and labels: one pixel or one label
// changed is another batch; a hit returns the stored floats; a K other than the
// stored one misses; nothing is stored past the byte budget.
TEST(TeacherLogitCache, KeysOnEveryPixelAndLabelAndKeepsItsBudget) {
  Tensor images({3, 1, 4, 4});
  for (int64_t i = 0; i < images.numel(); ++i) images.data()[i] = 0.25f * static_cast<float>(i % 7);
  Batch b;
  b.images = images.view();
  b.labels = {1, 2, 3};
  const std::vector<float> logits = {0.5f, -1, 2, 3, 4, 5};  // [3, 2]
  TeacherLogitCache cache(10 * sizeof(float));
  const TeacherLogitCache::Key k = TeacherLogitCache::key_of(b);
  EXPECT_EQ(cache.find(k, 2), nullptr);
  cache.insert(k, logits.data(), 2);
  const float* got = cache.find(k, 2);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(std::vector<float>(got, got + 6), logits);
  EXPECT_EQ(cache.find(k, 3), nullptr);
  EXPECT_EQ(cache.hits(), 1);
  EXPECT_EQ(cache.lookups(), 3);
  float& last = images.data()[images.numel() - 1];
  const float keep = last;
  last = std::nextafter(keep, 10.0f);  // the last pixel, by one ulp
  const TeacherLogitCache::Key pixel = TeacherLogitCache::key_of(b);
  EXPECT_EQ(cache.find(pixel, 2), nullptr);
  last = keep;
  b.labels[0] = 0;
  EXPECT_EQ(cache.find(TeacherLogitCache::key_of(b), 2), nullptr);
  cache.insert(pixel, logits.data(), 2);  // 6 more floats would pass the 10-float budget
  EXPECT_EQ(cache.find(pixel, 2), nullptr);
  EXPECT_EQ(cache.bytes(), 6 * sizeof(float));
}

// Two students of one recipe: the second takes every teacher forward from the
// first's batches and ends bit-equal to the first, and to itself distilled
// alone, when every forward was computed.
TEST_F(DistillRun, TheSecondStudentReusesTheTeachersLogitsAndEndsTheSame) {
  test::TempDir both, alone;
  const std::string students = R"([{"name": "a", "quant": {"spec": "W1.58A8"}}, {"name": "b", "quant": {"spec": "W1.58A8"}}])";
  DistillRunConfig c = parse(config(students));
  DistillOutcome r = run_distillation(c, both.str(), false, false);
  ASSERT_EQ(r.students.size(), 2u);
  const int64_t steps = (200 + 31) / 32;  // one epoch of the 200-image fixture at batch 32
  EXPECT_EQ(r.teacher_batches, 2 * steps);
  EXPECT_EQ(r.teacher_batches_reused, steps);
  EXPECT_EQ(test::tensor_bytes(both / "a/a.safetensors"), test::tensor_bytes(both / "b/b.safetensors"));
  DistillRunConfig only_b = parse(config(students));
  select_students(only_b, {"b"});
  DistillOutcome rb = run_distillation(only_b, alone.str(), false, false);
  EXPECT_EQ(rb.teacher_batches_reused, 0);
  EXPECT_EQ(test::tensor_bytes(both / "b/b.safetensors"), test::tensor_bytes(alone / "b/b.safetensors"));
  EXPECT_EQ(r.students[1].top1, rb.students[0].top1);
}

// --students: the named students and the chain stages they start from, in
// config order; an unknown name is refused, naming the config's students.
TEST_F(DistillRun, SelectStudentsKeepsTheNamedOnesAndTheStagesTheyNeed) {
  const std::string students = R"([{"name": "a", "quant": {"spec": "W1.58A8"}},
                                    {"name": "b", "quant": {"spec": "W1A8"}, "from": "a"},
                                    {"name": "c", "quant": {"spec": "W1A4"}, "from": "b"},
                                    {"name": "d", "quant": {"spec": "W1A2"}, "init": "a"},
                                    {"name": "e", "quant": {"spec": "W1A1"}}])";
  auto names = [&](const std::vector<std::string>& pick) {
    DistillRunConfig c = parse(config(students));
    select_students(c, pick);
    std::string out;
    for (const auto& s : c.students) out += s.name;
    return out;
  };
  EXPECT_EQ(names({"e"}), "e");
  EXPECT_EQ(names({"c"}), "abc");
  EXPECT_EQ(names({"d", "e"}), "ade");
  EXPECT_EQ(names({"e", "a"}), "ae");
  DistillRunConfig c = parse(config(students));
  try {
    select_students(c, {"x"});
    FAIL() << "an unknown student was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"x\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a, b, c, d, e"), std::string::npos) << e.what();
  }
}

TEST_F(DistillRun, EarlyStopEndsTrainingAndIsRecorded) {
  test::TempDir out;
  // lr 0: nothing ever improves after the first epoch.
  DistillRunConfig c = parse(config(R"([{"quant": {"spec": "W1A8"}}])",
                                    R"({"epochs": 6, "lr": 1e-12, "min_lr": 0, "warmup_epochs": 0,
                                        "early_stop_patience": 2, "plateau_patience": 1})"));
  DistillOutcome r = run_distillation(c, out.str(), false, false);
  ASSERT_EQ(r.students.size(), 1u);
  EXPECT_TRUE(r.students[0].stopped_early);
  EXPECT_EQ(r.students[0].epochs_run, 3);
  EXPECT_LT(r.students[0].history.back()["lr_scale"].get<double>(), 1.0);
}

TEST_F(DistillRun, ConfigErrorsNameThePath) {
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W3A8"}}])").find("/students/0/quant/spec"), std::string::npos);
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W1A8"}, "colour": 1}])").find("colour"), std::string::npos);
  EXPECT_NE(error_of(R"([{"from": "nobody"}])").find("/students/0/from"), std::string::npos);
  EXPECT_NE(error_of(R"([{"quant": {"blocks": {"x": "W8A8"}}}])").find("/students/0/quant/blocks/x"), std::string::npos);
  EXPECT_NE(error_of(R"([])").find("/students"), std::string::npos);
  EXPECT_THROW(quant_plan_from_json(nlohmann::json::parse(R"({"blocks": {"2": "W8A8"}})"), 2, "d.json", "/q"), Error);
  EXPECT_EQ(quant_plan_from_json(nlohmann::json::parse(R"({"blocks": {"1": "W8A8"}})"), 2, "d.json", "/q").blocks[1][0].name(),
            "W8A8");
  EXPECT_NE(error_of(R"([{}, {}])").find("used twice"), std::string::npos);
  EXPECT_NE(error_of(R"([{"train": {"epochs": "two"}}])").find("/students/0/train/epochs"), std::string::npos);
}

// ---- the mixed-precision search (eval/precision_search.hpp)

// A table by hand: 3 layers, rungs W8A8 > W1.58A8 > W1A8; costs 8, 2, 1 per layer.
SensitivityTable hand_table(const std::vector<std::vector<double>>& delta) {
  SensitivityTable t;
  t.rungs = {parse_quant_spec("W8A8"), parse_quant_spec("W1.58A8"), parse_quant_spec("W1A8")};
  for (size_t l = 0; l < delta.size(); ++l) {
    t.layers.push_back({"blocks.0.l" + std::to_string(l), 0, static_cast<int>(l), 4, 4});
    t.delta.push_back(delta[l]);
    t.cost.push_back({8, 2, 1});
  }
  return t;
}

TEST(PrecisionSearch, GreedyStepsTheLeastSensitiveLayersDownWithinTheBudget) {
  // Layer 1 is fragile at both lower rungs; layer 2 only at the bottom one.
  const SensitivityTable t = hand_table({{0, 0.01, 0.02}, {0, 0.5, 2.0}, {0, 0.02, 0.3}});
  std::vector<SearchStep> trace;
  EXPECT_EQ(greedy_assignment(t, 0.1, &trace), (std::vector<int>{2, 0, 1}));
  ASSERT_FALSE(trace.empty());
  for (const SearchStep& s : trace) EXPECT_LE(s.predicted, 0.1 + 1e-12);
  EXPECT_DOUBLE_EQ(trace.back().cost, 1 + 8 + 2);
  // A budget of zero allows only free steps; a huge one takes every layer to the bottom.
  EXPECT_EQ(greedy_assignment(hand_table({{0, 0, 0}, {0, 0.5, 2.0}, {0, -0.1, 0.3}}), 0.0), (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(greedy_assignment(t, 1e9), (std::vector<int>{2, 2, 2}));
  EXPECT_DOUBLE_EQ(assignment_cost(t, {2, 2, 2}), 3.0);
}

TEST(PrecisionSearch, VerificationRevertsTheMostSensitiveLayerUntilTheWholeFits) {
  const SensitivityTable t = hand_table({{0, 0.01, 0.04}, {0, 0.02, 0.05}, {0, 0.03, 0.06}});
  // The whole loses twice the sum of its parts: the greedy's pick must be reverted.
  int calls = 0;
  auto measure = [&](const std::vector<int>& rung) {
    ++calls;
    double s = 0;
    for (size_t l = 0; l < rung.size(); ++l) s += std::max(0.0, t.delta[l][static_cast<size_t>(rung[l])]);
    return 2 * s;
  };
  const SearchOutcome o = search_precision(t, 0.1, measure);
  EXPECT_LE(o.measured, 0.1);
  EXPECT_GE(calls, 2);
  int reverts = 0;
  for (const SearchStep& s : o.trace) {
    if (s.action != "revert") continue;
    ++reverts;
    EXPECT_FALSE(std::isnan(s.measured));
    EXPECT_EQ(s.to, s.from - 1);
  }
  EXPECT_GT(reverts, 0);
  EXPECT_DOUBLE_EQ(o.measured, measure(o.rung));
  EXPECT_DOUBLE_EQ(o.cost, assignment_cost(t, o.rung));
  EXPECT_DOUBLE_EQ(o.start_cost, 24.0);
  // A middle rung that loses more alone than the one below it is skipped on the way back up.
  {
    const SensitivityTable u = hand_table({{0, 0.5, 0.05}, {0, 0.6, 0.06}});
    const SearchOutcome w = search_precision(u, 0.12, [&](const std::vector<int>& rung) {
      return rung[0] == 2 && rung[1] == 2 ? 0.2 : 0.0;  // both binary together exceed the budget
    });
    ASSERT_FALSE(w.trace.empty());
    EXPECT_EQ(w.trace.back().action, "revert");
    EXPECT_EQ(w.trace.back().to, 0);  // not to W1.58A8 (0.6 alone)
    EXPECT_EQ(w.rung, (std::vector<int>{2, 0}));
  }
  // A measure nothing satisfies ends at the start plan.
  const SearchOutcome none = search_precision(t, 0.1, [](const std::vector<int>&) { return 1.0; });
  EXPECT_EQ(none.rung, (std::vector<int>{0, 0, 0}));
}

// Every block Linear's weights ±0.1 (exact at W8, ternary and binary: the
// rungs change nothing) except one, Gaussian with outliers: stepping it down
// changes the logits. The search must find it and keep it.
TEST(PrecisionSearch, SensitivityFindsTheLayerMadeFragileAndThePlanRunsOnTheEngine) {
  const ViTConfig c = tiny(2);
  ViTParams p(c);
  p.init_random(4);
  Rng r(8);
  const auto nk = c.block_linear_nk();
  const int fragile_block = 1, fragile_slot = kFc1;
  for (int b = 0; b < c.depth; ++b) {
    float* w[4] = {p.blocks[b].qkv_w, p.blocks[b].proj_w, p.blocks[b].fc1_w, p.blocks[b].fc2_w};
    for (int s = 0; s < 4; ++s)
      for (int64_t i = 0; i < nk[s][0] * nk[s][1]; ++i) {
        const bool fragile = b == fragile_block && s == fragile_slot;
        w[s][i] = fragile ? static_cast<float>(r.normal()) * (i % 37 == 0 ? 3.f : 0.3f) : (r.uniform() < 0.5 ? -0.1f : 0.1f);
      }
  }
  std::vector<Tensor> images;
  std::vector<std::vector<int>> labels;
  for (int b = 0; b < 3; ++b) {
    images.emplace_back(Shape{40, 1, 12, 12});
    for (int64_t i = 0; i < images.back().numel(); ++i) images.back()[i] = static_cast<float>(r.normal());
    labels.emplace_back();
    for (int i = 0; i < 40; ++i) labels.back().push_back(i % 10);
  }
  SearchInputs in;
  in.weights = &p;
  in.teacher = &p;  // the fp32 model itself: the start plan (W8A8) is close to it
  in.start = QuantPlan::uniform(c.depth, parse_quant_spec("W8A8"));
  in.batches = [&](const std::function<void(const TensorView&, const std::vector<int>&)>& fn) {
    for (size_t b = 0; b < images.size(); ++b) fn(images[b].view(), labels[b]);
  };
  SearchConfig sc = read_search_config(nlohmann::json::parse(R"({"ladder": ["W1.58A8", "W1A8"], "budget": 0})"), "s.json", "/search");
  const PlanScorer scorer(in);
  EXPECT_EQ(scorer.images(), 120);
  EXPECT_LT(scorer.start().kl, 1e-3);
  const SensitivityTable t = measure_sensitivity(sc, scorer, in);
  ASSERT_EQ(t.layers.size(), static_cast<size_t>(4 * c.depth));
  size_t fragile = 0;
  for (size_t l = 0; l < t.layers.size(); ++l)
    if (t.layers[l].block == fragile_block && t.layers[l].slot == fragile_slot) fragile = l;
  EXPECT_EQ(t.layers[fragile].name, "blocks.1.mlp.fc1");
  for (size_t l = 0; l < t.layers.size(); ++l) {
    // Bytes on the bit kernels: binary below ternary below int8.
    EXPECT_GT(t.cost[l][0], t.cost[l][1]) << t.layers[l].name;
    EXPECT_GT(t.cost[l][1], t.cost[l][2]) << t.layers[l].name;
    if (l == fragile) continue;
    for (size_t rr = 1; rr < 3; ++rr) EXPECT_LT(std::fabs(t.delta[l][rr]), 1e-3 * t.delta[fragile][2]) << t.layers[l].name;
  }
  EXPECT_GT(t.delta[fragile][2], 1e-3);
  // A budget below the fragile layer's binary loss: everything else goes to the bottom, it stays above.
  const double budget = 0.5 * t.delta[fragile][2];
  const SearchOutcome o = search_precision(t, budget, [&](const std::vector<int>& rung) {
    return scorer.lost(scorer.score(plan_of(in.start, t, rung)), SearchMeasure::kKL);
  });
  for (size_t l = 0; l < t.layers.size(); ++l) EXPECT_EQ(o.rung[l], l == fragile ? (t.delta[fragile][1] <= budget ? 1 : 0) : 2) << t.layers[l].name;
  EXPECT_LE(o.measured, budget);
  EXPECT_LT(o.cost, o.start_cost);
  // The record names the choice per layer.
  const nlohmann::json rec = to_json(t, o, sc);
  EXPECT_EQ(rec["layers"][fragile]["chosen"], t.rungs[static_cast<size_t>(o.rung[fragile])].name());
  EXPECT_EQ(rec["layers"].size(), t.layers.size());

  // The latency cost: each rung's layer timed on the bit kernels (positive,
  // finite; its order is the machine's); an fp32 rung has no integer kernel to time.
  {
    SearchConfig lat = sc;
    lat.cost = SearchCost::kLatency;
    lat.cost_batch = 2;
    const std::vector<double> ms = layer_costs(lat, p, t.layers[fragile], t.rungs, ActScale::kAbsMax);
    ASSERT_EQ(ms.size(), 3u);
    for (double v : ms) EXPECT_TRUE(std::isfinite(v) && v > 0) << v;
    EXPECT_THROW(layer_costs(lat, p, t.layers[fragile], {QuantSpec{}, t.rungs[2]}, ActScale::kAbsMax), Error);
  }

  // The per-layer plan through its JSON, the packed file and the engine.
  const QuantPlan plan = plan_of(in.start, t, o.rung);
  EXPECT_EQ(plan.label(), o.rung[fragile] == 0 ? "mixed 7xW1A8 1xW8A8" : "mixed 7xW1A8 1xW1.58A8");
  EXPECT_EQ(plan_of(in.start, t, std::vector<int>(t.layers.size(), 2)).label(), "W1A8");  // all on one rung: that rung
  EXPECT_EQ(in.start.label(), "W8A8");
  EXPECT_EQ(to_json(quant_plan_from_json(to_json(plan), c.depth, "p.json", "/plan")), to_json(plan));
  test::TempDir dir;
  const std::string path = dir / "mixed.packed.safetensors";
  write_packed_student(path, p, plan);
  LoadedModel pk = load_model(path);
  EXPECT_EQ(to_json(*pk.plan), to_json(plan));
  auto be = make_backend(ModelBackend::kOnednn);
  IntModel engine = build_int_model(ModelBackend::kBitKernels, pk.params, *pk.plan, &pk.packed_layers);
  ViTRunner fake(p, *be, false, &plan), run(pk.params, *be, false, pk.plan_ptr(), &engine);
  const TensorView want = fake.forward(images[0].view());
  std::vector<float> w(want.data(), want.data() + want.numel());
  const TensorView got = run.forward(images[0].view());
  for (int64_t i = 0; i < got.numel(); ++i) EXPECT_NEAR(got.data()[i], w[static_cast<size_t>(i)], 1e-3f * (1 + std::fabs(w[static_cast<size_t>(i)])));
}

// The energy model counts every MAC once, by the kind its formats make it.
TEST(EnergyModel, CountsEachMacByItsKindAndReadsTheWeightsOncePerBatch) {
  const ViTConfig c = tiny(2);
  const int64_t T = c.tokens(), D = c.embed_dim, Hm = c.mlp_hidden;
  const int64_t block = T * (3 * D * D + D * D + Hm * D + D * Hm), attn = 2 * T * T * D;
  const int64_t rest = c.num_patches() * D * c.patch_dim() + int64_t{c.num_classes} * D;
  const EnergyEstimate fp = estimate_energy(c, nullptr, 1000);
  EXPECT_EQ(fp.float_macs, c.depth * (block + attn) + rest);
  EXPECT_EQ(fp.add_macs + fp.int_mult_macs + fp.xnor_macs, 0);
  EXPECT_DOUBLE_EQ(fp.weight_read_pj, 1000 / 4.0 * 640);
  EXPECT_DOUBLE_EQ(fp.per_image_pj(64), fp.compute_pj + fp.weight_read_pj / 64);
  const QuantPlan ternary = QuantPlan::uniform(c.depth, parse_quant_spec("W1.58A8"));
  const EnergyEstimate t = estimate_energy(c, &ternary, 100);
  EXPECT_EQ(t.add_macs, c.depth * block);  // multiply-free: codes in {-1, 0, 1}
  EXPECT_EQ(t.float_macs, c.depth * attn + rest);
  EXPECT_LT(t.compute_pj, fp.compute_pj);
  const EnergyEstimate t_dnn = estimate_energy(c, &ternary, 100, /*int8_gemm=*/true);  // oneDNN multiplies the codes
  EXPECT_EQ(t_dnn.int_mult_macs, c.depth * block);
  EXPECT_GT(t_dnn.compute_pj, t.compute_pj);
  QuantPlan w1a1 = QuantPlan::uniform(c.depth, parse_quant_spec("W1A1"));
  w1a1.attn_qk = w1a1.attn_pv = ActFormat::kInt8;
  const EnergyEstimate x = estimate_energy(c, &w1a1, 100);
  EXPECT_EQ(x.xnor_macs, c.depth * block);
  EXPECT_EQ(x.int_mult_macs, c.depth * attn);
  EXPECT_EQ(x.float_macs, rest);
  const QuantPlan w8 = QuantPlan::uniform(c.depth, parse_quant_spec("W8A8"));
  EXPECT_EQ(estimate_energy(c, &w8, 100).int_mult_macs, c.depth * block);
  const nlohmann::ordered_json j = to_json(t);
  EXPECT_DOUBLE_EQ(j["uj_per_image_batch_1"].get<double>(), t.per_image_pj(1) * 1e-6);
  EXPECT_NE(energy_table_json()["label"].get<std::string>().find("not a measurement"), std::string::npos);
}

TEST_F(DistillRun, SearchedStudentIsDistilledWithItsPlanAndResumedWithIt) {
  test::TempDir out;
  const std::string students = R"([{"name": "mixed", "quant": {"spec": "W8A8"},
      "search": {"ladder": ["W1.58A8", "W1A8"], "budget": 0.02, "images": 60}}])";
  DistillRunConfig c = parse(config(students));
  c.search_only = true;
  DistillOutcome plan_only = run_distillation(c, out.str(), false, false);
  EXPECT_TRUE(plan_only.students.empty());
  const std::string search_path = out / "mixed/search.json";
  ASSERT_TRUE(std::filesystem::exists(search_path));
  const nlohmann::json rec = parse_json_file(search_path);
  EXPECT_EQ(rec["calibration_images"], 60);
  EXPECT_EQ(rec["layers"].size(), 8u);
  EXPECT_FALSE(std::filesystem::exists(out / "students.json"));  // --plan-only writes no summary
  // A resumed run trains the plan the file holds (edited here: a search again would not give it).
  QuantPlan edited = QuantPlan::uniform(2, parse_quant_spec("W1A8"));
  edited.spec = parse_quant_spec("W8A8");
  edited.blocks[1][kFc2] = parse_quant_spec("W8A8");
  nlohmann::json rec_edited = rec;
  rec_edited["plan"] = to_json(edited);
  test::write_text(search_path, rec_edited.dump());
  c.search_only = false;
  DistillOutcome r = run_distillation(c, out.str(), true, false);
  ASSERT_EQ(r.students.size(), 1u);
  EXPECT_EQ(r.students[0].spec, "mixed 7xW1A8 1xW8A8");
  const LoadedModel m = load_model(r.students[0].packed_path);
  EXPECT_EQ(to_json(*m.plan), to_json(edited));
  ASSERT_TRUE(m.metadata.count("search"));
  EXPECT_EQ(parse_json_text(m.metadata.at("search"), "meta")["plan"], rec_edited["plan"]);
  // Resumed under another budget: that plan is not this student's; refused, naming the file.
  {
    DistillRunConfig other = parse(config(R"([{"name": "mixed", "quant": {"spec": "W8A8"},
        "search": {"ladder": ["W1.58A8", "W1A8"], "budget": 0.5, "images": 60}}])"));
    try {
      run_distillation(other, out.str(), true, false);
      ADD_FAILURE() << "a plan of another search config was reused";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("search.json"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("another search config"), std::string::npos) << e.what();
    }
  }
  // Config errors name the path.
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W8A8"}, "search": {}}])").find("/students/0/search/ladder"), std::string::npos);
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W8A8"}, "search": {"ladder": ["W1.58A32"]}}])").find("integer kernels"), std::string::npos);
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W8A8"}, "search": {"ladder": ["W8A8"]}}])").find("/students/0/search/ladder/0"), std::string::npos);
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W8A8", "blocks": {"0": "W1A8"}}, "search": {"ladder": ["W1A8"]}}])").find("/students/0/quant/blocks"), std::string::npos);
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W8A8"}, "search": {"ladder": ["W1A8"], "cost": "joules"}}])").find("/students/0/search/cost"), std::string::npos);
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W8A8"}, "search": {"ladder": ["FP32"]}}])").find("/students/0/search/ladder/0"), std::string::npos);
  EXPECT_NE(error_of(R"([{"quant": {"spec": "W1.58A32"}, "search": {"ladder": ["W1A8"]}}])").find("/students/0/quant/spec"), std::string::npos);
}

}  // namespace
}  // namespace bb
