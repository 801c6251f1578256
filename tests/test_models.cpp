#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/npy.hpp"
#include "core/rng.hpp"
#include "kernels/backend.hpp"
#include "models/checkpoint.hpp"
#include "models/layers.hpp"
#include "models/packed.hpp"
#include "models/quant_plan_json.hpp"
#include "models/safetensors.hpp"
#include "models/vit.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

const std::string kRef = std::string(BITBENCH_SOURCE_DIR) + "/../shared/reference/vit_random_small/";

float max_abs_diff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

Tensor random_images(int64_t B, const ViTConfig& c, uint64_t seed) {
  Tensor t(Shape{B, c.in_chans, c.img_size, c.img_size});
  Rng r(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(r.normal());
  return t;
}

// Random weights with unit-scale spread so every term of the forward matters.
ViTParams random_params(const ViTConfig& c, uint64_t seed) {
  ViTParams p(c);
  Rng r(seed);
  for (int64_t i = 0; i < p.count(); ++i) p.flat[i] = static_cast<float>(0.3 * r.normal());
  return p;
}

// ------------------------------------------------------------ PyTorch reference

TEST(Reference, Fp32LogitsAndActivationsMatchPyTorch) {
  LoadedViT m = load_vit(kRef + "model.safetensors");
  EXPECT_EQ(m.config_source, "metadata");
  EXPECT_EQ(m.params.cfg.tokens(), 17);
  NpyArray input = read_npy(kRef + "input.npy");
  ASSERT_EQ(input.shape, (std::vector<int64_t>{3, 3, 16, 16}));
  Tensor images(Shape{3, 3, 16, 16});
  std::memcpy(images.data(), input.data.data(), input.data.size() * 4);
  NpyArray logits = read_npy(kRef + "logits_fp32.npy");
  const char* acts[] = {"act_embed.npy", "act_block0.npy", "act_block1.npy", "act_norm.npy"};
  for (const char* backend : {"reference", "onednn"}) {
    SCOPED_TRACE(backend);
    auto be = make_backend(parse_model_backend(backend));
    ViTRunner run(m.params, *be);
    std::vector<Tensor> taps;
    run.capture(&taps);
    TensorView out = run.forward(images.view());
    ASSERT_EQ(out.numel(), 21);
    const float diff = max_abs_diff(out.data(), logits.data.data(), 21);
    EXPECT_LE(diff, 1e-4f);
    RecordProperty(std::string("max_logit_diff_") + backend, std::to_string(diff));
    std::printf("[ %s ] max |logit - PyTorch| = %.3g\n", backend, diff);
    ASSERT_EQ(taps.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
      NpyArray a = read_npy(kRef + acts[i]);
      ASSERT_EQ(static_cast<int64_t>(a.data.size()), taps[i].numel()) << acts[i];
      EXPECT_LE(max_abs_diff(taps[i].data(), a.data.data(), taps[i].numel()), 1e-4f) << acts[i];
    }
  }
}

TEST(Reference, ConfigInferredFromShapesAgrees) {
  SafetensorsFile f = SafetensorsFile::read(kRef + "model.safetensors");
  ViTConfig c = infer_vit_config(f);
  EXPECT_EQ(c.img_size, 16);
  EXPECT_EQ(c.patch_size, 4);
  EXPECT_EQ(c.embed_dim, 32);
  EXPECT_EQ(c.depth, 2);
  EXPECT_EQ(c.mlp_hidden, 48);
  EXPECT_EQ(c.num_classes, 7);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_EQ(c.global_pool, "token");
  EXPECT_EQ(c.num_heads, 2);  // not in the shapes: from the metadata config
  // Without any metadata, width 32 leaves num_heads unknown: a clear error.
  std::vector<TensorToWrite> t;
  std::vector<std::vector<float>> keep;
  for (const auto& info : f.tensors()) {
    keep.push_back(f.to_f32(info));
    t.push_back({info.name, info.shape, DType::F32, keep.back().data()});
  }
  SafetensorsFile bare = SafetensorsFile::parse(serialize_safetensors(t, {}), "bare.safetensors");
  test::expect_error([&] { infer_vit_config(bare); }, {"bare.safetensors", "cannot tell num_heads", "--model PRESET"});
}

// ------------------------------------------------------------ oneDNN == reference

struct Variant {
  const char* name;
  int heads;
  bool distilled;
  std::string pool;
  bool qkv_bias;
};

TEST(Backends, OnednnEqualsReferenceOnOddShapes) {
  // img 12 / patch 4 = 9 patches (+ prefix tokens: 10 or 11 tokens, not multiples of 8), width 20.
  for (const Variant& v : {Variant{"1 head", 1, false, "token", true}, Variant{"4 heads", 4, false, "token", false},
                           Variant{"distilled", 2, true, "token", true}, Variant{"avg pool", 5, false, "avg", true}}) {
    SCOPED_TRACE(v.name);
    ViTConfig c;
    c.img_size = 12;
    c.patch_size = 4;
    c.in_chans = 3;
    c.embed_dim = 20;
    c.depth = 2;
    c.num_heads = v.heads;
    c.mlp_hidden = 37;
    c.num_classes = 11;
    c.distilled = v.distilled;
    c.global_pool = v.pool;
    c.qkv_bias = v.qkv_bias;
    check(c, "test");
    ViTParams p = random_params(c, 7);
    auto ref = make_backend(ModelBackend::kReference);
    auto dnn = make_backend(ModelBackend::kOnednn);
    ViTRunner a(p, *ref), b(p, *dnn);
    for (int64_t B : {1, 3}) {
      Tensor x = random_images(B, c, 100 + static_cast<uint64_t>(B));
      TensorView la = a.forward(x.view());
      std::vector<float> keep(la.data(), la.data() + la.numel());
      TensorView lb = b.forward(x.view());
      ASSERT_EQ(lb.numel(), B * 11);
      EXPECT_LE(max_abs_diff(keep.data(), lb.data(), lb.numel()), 1e-4f) << "B=" << B;
    }
  }
}

// ------------------------------------------------------------ layers by hand

TEST(Layers, LayerNormGeluPatchify) {
  float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 1}, b[4] = {0, 0, 0, 1}, out[4];
  layernorm_forward(x, w, b, out, 1, 4, 0.0f);
  // mean 2.5, var 1.25 -> (x - 2.5) / 1.118034
  EXPECT_NEAR(out[0], -1.3416408f, 1e-6);
  EXPECT_NEAR(out[2], 2 * 0.4472136f, 1e-6);
  EXPECT_NEAR(out[3], 1.3416408f + 1, 1e-6);
  float g[3] = {0, 1, -1};
  gelu_forward(g, g, 3);
  EXPECT_NEAR(g[0], 0.0f, 1e-7);
  EXPECT_NEAR(g[1], 0.8413447f, 1e-6);
  EXPECT_NEAR(g[2], -0.1586553f, 1e-6);
  // images[1, 2, 4, 4] (value = c*100 + y*10 + x), patch 2: patch 1 = (py 0, px 1).
  float img[32], patches[4 * 8];
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 4; ++y)
      for (int xx = 0; xx < 4; ++xx) img[(c * 4 + y) * 4 + xx] = static_cast<float>(c * 100 + y * 10 + xx);
  patchify(img, patches, 1, 2, 4, 2);
  const float expect[8] = {2, 3, 12, 13, 102, 103, 112, 113};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(patches[8 + i], expect[i]);
}

TEST(Layers, AttentionByHand) {
  // B=1, T=2, one head of width 2: q = k = [[1,0],[0,1]], v = [[1,2],[3,4]], scale 1.
  // scores row 0 = softmax([1, 0]) = [e/(e+1), 1/(e+1)] -> out row 0 = [1 + 2/(e+1)... ]
  const float qkv[2 * 6] = {1, 0, 1, 0, 1, 2, 0, 1, 0, 1, 3, 4};
  const float e = std::exp(1.0f), p0 = e / (e + 1), p1 = 1 / (e + 1);
  for (const char* name : {"reference", "onednn"}) {
    SCOPED_TRACE(name);
    auto be = make_backend(parse_model_backend(name));
    float scores[8], out[4];  // scores [B, H, T, T] holds 8 with two heads
    be->attention(qkv, scores, out, 1, 2, 1, 2, 1.0f);
    EXPECT_NEAR(scores[0], p0, 1e-6);
    EXPECT_NEAR(scores[1], p1, 1e-6);
    EXPECT_NEAR(out[0], p0 * 1 + p1 * 3, 1e-5);
    EXPECT_NEAR(out[1], p0 * 2 + p1 * 4, 1e-5);
    EXPECT_NEAR(out[2], p1 * 1 + p0 * 3, 1e-5);
    // Two heads of width 1 keep their own columns: head 1 sees q=k=[0,1] -> scores [0.5, 0.5] * ... scale 1.
    be->attention(qkv, scores, out, 1, 2, 2, 1, 1.0f);
    // head 0: q=[1,0] k=[1,0]: row 0 softmax([1,0]), row 1 softmax([0,0]); v col 0 = [1,3]
    EXPECT_NEAR(out[0], p0 * 1 + p1 * 3, 1e-5);
    EXPECT_NEAR(out[2], 0.5f * (1 + 3), 1e-5);
    // head 1: q=[0,1] k=[0,1]: row 0 softmax([0,0]), row 1 softmax([0,1]); v col 1 = [2,4]
    EXPECT_NEAR(out[1], 0.5f * (2 + 4), 1e-5);
    EXPECT_NEAR(out[3], p1 * 2 + p0 * 4, 1e-5);
  }
}

TEST(Layers, LinearOddShapesMatchPlainSum) {
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {1, 7, 13}, {5, 1, 17}, {3, 9, 33}}) {
    std::vector<float> x(static_cast<size_t>(M * K)), w(static_cast<size_t>(N * K)), b(static_cast<size_t>(N));
    Rng r(static_cast<uint64_t>(M * 100 + N * 10 + K));
    for (auto& v : x) v = static_cast<float>(r.normal());
    for (auto& v : w) v = static_cast<float>(r.normal());
    for (auto& v : b) v = static_cast<float>(r.normal());
    for (const char* name : {"reference", "onednn"}) {
      auto be = make_backend(parse_model_backend(name));
      std::vector<float> y(static_cast<size_t>(M * N));
      be->linear(x.data(), w.data(), b.data(), y.data(), M, N, K);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double s = b[static_cast<size_t>(n)];
          for (int64_t k = 0; k < K; ++k) s += double(x[static_cast<size_t>(m * K + k)]) * w[static_cast<size_t>(n * K + k)];
          EXPECT_NEAR(y[static_cast<size_t>(m * N + n)], s, 1e-4) << name << " M=" << M << " N=" << N << " K=" << K;
        }
    }
  }
}

TEST(Vit, DistilledOutputIsTheMeanOfBothHeads) {
  ViTConfig c = vit_preset("deit_tiny_distilled_patch16_224");
  c.img_size = 8;
  c.patch_size = 4;
  c.embed_dim = 16;
  c.num_heads = 2;
  c.depth = 1;
  c.mlp_hidden = 24;
  c.num_classes = 5;
  ViTParams p = random_params(c, 3);
  auto be = make_backend(ModelBackend::kReference);
  ViTRunner run(p, *be);
  std::vector<Tensor> taps;
  run.capture(&taps);
  Tensor x = random_images(2, c, 9);
  TensorView out = run.forward(x.view());
  const Tensor& normed = taps.back();  // [B, T, D] after the final norm
  const int64_t T = c.tokens(), D = 16;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t k = 0; k < 5; ++k) {
      double h = p.head_b[k], hd = p.head_dist_b[k];
      for (int64_t d = 0; d < D; ++d) {
        h += double(p.head_w[k * D + d]) * normed[(b * T + 0) * D + d];
        hd += double(p.head_dist_w[k * D + d]) * normed[(b * T + 1) * D + d];
      }
      EXPECT_NEAR(out[b * 5 + k], 0.5 * (h + hd), 1e-4);
    }
}

// ------------------------------------------------------------ safetensors

TEST(Safetensors, RoundTripIsBitExact) {
  test::TempDir d;
  ViTConfig c = vit_preset("vit_fmnist_tiny_patch4_28");
  ViTParams p(c);
  p.init_random(5);
  save_vit(d / "m.safetensors", p, {{"recipe", "test"}});
  LoadedViT l = load_vit(d / "m.safetensors");
  EXPECT_EQ(l.config_source, "metadata");
  EXPECT_EQ(to_json(l.params.cfg), to_json(c));
  EXPECT_EQ(l.metadata.at("recipe"), "test");
  ASSERT_EQ(l.params.count(), p.count());
  EXPECT_EQ(std::memcmp(l.params.flat.data(), p.flat.data(), static_cast<size_t>(p.count()) * 4), 0);
  // Saving again gives the same bytes.
  save_vit(d / "m2.safetensors", l.params, {{"recipe", "test"}});
  EXPECT_EQ(test::read_bytes(d / "m.safetensors"), test::read_bytes(d / "m2.safetensors"));
}

// bitbench's keys are written under "bitbench." and read back without it;
// another tool's keys in the same file (a PyTorch export's "format", "quant"
// and "config" of another schema) are ignored; files from before the
// namespace ("format": "bitbench-vit", unprefixed) still load as bitbench's.
TEST(Safetensors, OwnMetadataIsNamespacedAndForeignKeysAreIgnored) {
  test::TempDir d;
  ViTConfig c = vit_preset("vit_fmnist_tiny_patch4_28");
  c.depth = 1;
  c.embed_dim = 128;  // a multiple of 64: the old width/64 rule would have guessed 2 heads, wrongly
  c.num_heads = 4;
  c.mlp_hidden = 256;
  ViTParams p(c);
  p.init_random(3);
  save_vit(d / "m.safetensors", p, {{"class_names", "[\"a\"]"}});
  const SafetensorsFile f = SafetensorsFile::read(d / "m.safetensors");
  for (const auto& [k, v] : f.metadata()) EXPECT_EQ(k.rfind("bitbench.", 0), 0u) << k;
  EXPECT_EQ(f.own_metadata().at("format"), "bitbench-vit");
  EXPECT_EQ(f.own_metadata().at("class_names"), "[\"a\"]");

  std::vector<TensorToWrite> t;
  for (const auto& e : p.entries) t.push_back({e.name, e.shape, DType::F32, p.data(e)});
  // Foreign keys only: the shapes are no timm architecture's, so the head
  // count is unknown and the file is refused rather than guessed.
  ViTConfig other = c;
  const std::map<std::string, std::string> foreign = {
      {"format", "pt"}, {"quant", "fp32"}, {"config", R"({"architecture": "vit_tiny", "drop_rate": 0.1})"}};
  write_safetensors(d / "foreign.safetensors", t, foreign);
  EXPECT_TRUE(SafetensorsFile::read(d / "foreign.safetensors").own_metadata().empty());
  test::expect_error([&] { load_model(d / "foreign.safetensors"); },
                     {"foreign.safetensors", "cannot tell num_heads", "--model-config"});
  // A given config is used where the file states none.
  LoadedModel given = load_model(d / "foreign.safetensors", other);
  EXPECT_FALSE(given.plan.has_value());
  EXPECT_EQ(given.config_source, "argument");
  EXPECT_EQ(given.params.cfg.num_heads, 4);
  // Foreign keys beside bitbench's: bitbench's are read, the others ignored.
  std::map<std::string, std::string> mixed = foreign;
  mixed["bitbench.config"] = to_json(other).dump();
  write_safetensors(d / "mixed.safetensors", t, mixed);
  LoadedModel mm = load_model(d / "mixed.safetensors");
  EXPECT_EQ(mm.config_source, "metadata");
  EXPECT_EQ(mm.params.cfg.num_heads, 4);
  EXPECT_FALSE(mm.plan.has_value());
  // Before the namespace: unprefixed keys of a "bitbench-vit" file are bitbench's.
  write_safetensors(d / "old.safetensors", t, {{"format", "bitbench-vit"}, {"config", to_json(other).dump()}, {"recipe", "r"}});
  LoadedViT old = load_vit(d / "old.safetensors");
  EXPECT_EQ(old.config_source, "metadata");
  EXPECT_EQ(old.params.cfg.num_heads, 4);
  EXPECT_EQ(old.metadata.at("recipe"), "r");
}

// A minimal file laid out by hand: header JSON, padding, raw little-endian data.
std::vector<uint8_t> hand_file(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

TEST(Safetensors, IndependentlyWrittenFileLoadsWithF16AndBf16) {
  // a: F32 [2] = {1.5, -2}; b: F16 [2] = {1.0, -0.5}; c: BF16 [1] = {3.0}
  std::vector<uint8_t> data = {0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0,  // F32
                               0x00, 0x3C, 0x00, 0xB8,                          // F16
                               0x40, 0x40};                                     // BF16
  std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},)"
                  R"("c":{"dtype":"BF16","shape":[1,1],"data_offsets":[12,14]},"__metadata__":{"k":"v"}}  )";
  SafetensorsFile f = SafetensorsFile::parse(hand_file(h, data), "hand.safetensors");
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.metadata().at("k"), "v");
  EXPECT_EQ(f.to_f32(*f.find("a")), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(f.to_f32(*f.find("b")), (std::vector<float>{1.0f, -0.5f}));
  EXPECT_EQ(f.to_f32(*f.find("c")), (std::vector<float>{3.0f}));
}

TEST(Safetensors, MalformedHeadersAreRefusedClearly) {
  auto one = [](const std::string& entry, size_t data_bytes) {
    return hand_file("{" + entry + "}", std::vector<uint8_t>(data_bytes, 0));
  };
  struct Case {
    std::vector<uint8_t> bytes;
    std::string expect;
  };
  std::vector<uint8_t> huge_len = {0, 0, 0, 0, 0, 0, 0, 1, '{', '}'};
  std::vector<uint8_t> past_end = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
  std::vector<Case> cases = {
      {{1, 2, 3}, "shorter than the 8-byte header length"},
      {huge_len, "above the limit"},
      {past_end, "runs past the end"},
      {hand_file("[1,2]", {}), "not a safetensors file (no JSON header after the 8-byte length)"},
      {{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'}, "not a safetensors file (it looks like a PNG image)"},
      {{'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0}, "it looks like a zip archive"},
      {hand_file("{\"a\": ", {}), "not valid JSON"},
      {one(R"("a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]})", 4), "unknown dtype \"F31\""},
      {one(R"("a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]})", 4), "expected non-negative integers"},
      {one(R"("a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]})", 4), "overflows"},
      {one(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 4), "lies past the data section"},
      {one(R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]})", 8), "holds 8 bytes, its dtype and shape need 12"},
      {one(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})", 8),
       "overlaps"},
      {one(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})", 8), "hole"},
      {one(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})", 12), "8 bytes after the last tensor"},
      {one(R"("a":{"dtype":"F32","shape":[1]})", 4), "expected {dtype, shape, data_offsets}"},
      {one(R"("__metadata__":{"k":1})", 0), "__metadata__/k is not a string"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    test::expect_error([&] { SafetensorsFile::parse(cases[i].bytes, "bad.safetensors"); },
                       {"bad.safetensors", cases[i].expect});
  }
}

TEST(Safetensors, NameAndShapeMismatchesAreListedTogether) {
  test::TempDir d;
  ViTConfig c = vit_preset("vit_fmnist_tiny_patch4_28");
  c.depth = 1;
  ViTParams p(c);
  std::vector<TensorToWrite> t;
  for (const auto& e : p.entries) {
    if (e.name == "head.bias") continue;                            // missing
    std::vector<int64_t> shape = e.shape;
    if (e.name == "blocks.0.mlp.fc1.weight") shape = {shape[1], shape[0]};  // mis-shaped (same count)
    t.push_back({e.name, shape, DType::F32, p.data(e)});
  }
  float extra = 1;
  t.push_back({"blocks.0.ls1.gamma", {1}, DType::F32, &extra});  // unexpected
  write_safetensors(d / "m.safetensors", t, {});
  test::expect_error([&] { load_vit(d / "m.safetensors", c); },
                     {"m.safetensors", "missing 1: head.bias", "mis-shaped 1: blocks.0.mlp.fc1.weight [96, 384] (expected [384, 96])",
                      "unexpected 1: blocks.0.ls1.gamma"});
}

// A checkpoint whose metadata config claims a model far larger than its
// tensors (here ~3.5e13 parameters: 140 TB as floats) is refused from the
// layout alone, before the parameter buffer would be allocated.
TEST(Safetensors, LyingConfigIsRefusedBeforeAllocating) {
  test::TempDir d;
  ViTConfig c = vit_preset("vit_fmnist_tiny_patch4_28");
  c.depth = 1;
  ViTParams p(c);
  std::vector<TensorToWrite> t;
  for (const auto& e : p.entries) t.push_back({e.name, e.shape, DType::F32, p.data(e)});
  ViTConfig huge = c;
  huge.embed_dim = 65536;
  huge.num_heads = 1024;
  huge.mlp_hidden = 1 << 20;
  huge.depth = 1024;
  write_safetensors(d / "m.safetensors", t, {{"format", "bitbench-vit"}, {"config", to_json(huge).dump()}});
  test::expect_error([&] { load_vit(d / "m.safetensors"); },
                     {"m.safetensors", "does not match the model config (metadata)", "missing"});
  test::expect_error([&] { load_model(d / "m.safetensors"); }, {"m.safetensors", "does not match"});
  write_safetensors(d / "p.safetensors", t,
                    {{"format", "bitbench-packed"}, {"config", to_json(huge).dump()}, {"quant", "{}"}});
  test::expect_error([&] { read_packed_student(d / "p.safetensors"); }, {"p.safetensors"});
}

TEST(Npy, RoundTrip) {
  test::TempDir d;
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  write_npy(d / "a.npy", {2, 3}, v.data());
  NpyArray a = read_npy(d / "a.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data, v);
  auto b = test::read_bytes(d / "a.npy");
  EXPECT_EQ((b.size() - 24) % 64, 0u);  // header padded to 64 bytes
  b.pop_back();
  test::write_bytes(d / "a.npy", b);
  test::expect_error([&] { read_npy(d / "a.npy"); }, {"a.npy", "data bytes"});
  // An empty array (a zero dimension) reads as empty (found by fuzz_npy: a null memcpy).
  write_npy(d / "a.npy", {0, 3}, nullptr);
  EXPECT_TRUE(read_npy(d / "a.npy").data.empty());
  // A header-only .npy (v1.0, header padded to 128 bytes) claiming `shape`.
  auto write_header = [&](const std::string& shape) {
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    h.resize(118, ' ');
    h += '\n';
    test::write_text(d / "a.npy", std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 255) + char(h.size() >> 8) + h);
  };
  // A header whose shape product overflows int64 is refused, not multiplied.
  write_header("(1099511627776, 1099511627776, 16)");
  test::expect_error([&] { read_npy(d / "a.npy"); }, {"a.npy", "absurd .npy"});
  write_header("(99999999999999999999999, )");
  test::expect_error([&] { read_npy(d / "a.npy"); }, {"a.npy", "absurd .npy dimension"});
}


// ------------------------------------------------------------ what a file does not say (issue #31)

// A file's tensors as they are, with other metadata (as a tool that re-saves it would write).
std::vector<uint8_t> resaved(const SafetensorsFile& f, const std::map<std::string, std::string>& meta, bool reverse = false) {
  std::vector<TensorToWrite> t;
  for (const auto& info : f.tensors()) t.push_back({info.name, info.shape, info.dtype, f.raw(info)});
  if (reverse) std::reverse(t.begin(), t.end());
  return serialize_safetensors(t, meta);
}

TEST(WhatTheFileSays, HeadCountComesFromTheFileOrTimmsTableNeverFromTheWidth) {
  // The zoo teacher without its metadata: 64 wide, 4 heads; the old width/64 rule said 1.
  const SafetensorsFile zoo =
      SafetensorsFile::read(std::string(BITBENCH_SOURCE_DIR) + "/models/zoo/fashion_mnist_default_teacher.safetensors");
  ASSERT_EQ(load_vit(zoo).params.cfg.num_heads, 4);
  const SafetensorsFile stripped = SafetensorsFile::parse(resaved(zoo, {}), "stripped.safetensors");
  EXPECT_TRUE(infer_from_shapes(stripped).heads_from.empty());
  test::expect_error([&] { load_vit(stripped); },
                     {"stripped.safetensors", "cannot tell num_heads", "--model PRESET", "--model-config", "/teacher/model"});
  // Told, it loads with what it was told; the same file under its own config agrees weight for weight.
  LoadedViT told = load_vit(stripped, GivenConfig(load_vit(zoo).params.cfg, "--model-config t.json"));
  EXPECT_EQ(told.config_source, "argument");
  EXPECT_EQ(told.params.cfg.num_heads, 4);
  // bitbench.num_heads alone is the file's word.
  const SafetensorsFile heads_only =
      SafetensorsFile::parse(resaved(zoo, {{"bitbench.num_heads", "4"}}), "heads.safetensors");
  EXPECT_EQ(load_vit(heads_only).params.cfg.num_heads, 4);
  test::expect_error([&] { load_vit(SafetensorsFile::parse(resaved(zoo, {{"bitbench.num_heads", "4x"}}), "h.safetensors")); },
                     {"h.safetensors", "bitbench.num_heads \"4x\" is not a head count"});

  // A DeiT-Tiny-shaped file (at a small input size) without metadata: timm's table says 3 heads.
  ViTConfig deit = vit_preset("deit_tiny_patch16_224");
  deit.img_size = 32;
  deit.num_heads = 3;
  const ViTParams p(deit);
  std::vector<TensorToWrite> t;
  for (const auto& e : p.entries) t.push_back({e.name, e.shape, DType::F32, p.data(e)});
  const SafetensorsFile bare = SafetensorsFile::parse(serialize_safetensors(t, {}), "deit.safetensors");
  const LoadedViT l = load_vit(bare);
  EXPECT_EQ(l.params.cfg.num_heads, 3);
  EXPECT_NE(l.config_source.find("timm's table (vit_tiny_patch16_224)"), std::string::npos) << l.config_source;
  // bitbench's own small shapes are not timm's: refused, with the preset named as a hint, not used.
  ViTConfig small = vit_preset("vit_fmnist_tiny_patch4_28");
  const ViTParams q(small);
  std::vector<TensorToWrite> u;
  for (const auto& e : q.entries) u.push_back({e.name, e.shape, DType::F32, q.data(e)});
  const SafetensorsFile small_bare = SafetensorsFile::parse(serialize_safetensors(u, {}), "small.safetensors");
  test::expect_error([&] { load_vit(small_bare); },
                     {"small.safetensors", "cannot tell num_heads", "bitbench's preset vit_fmnist_tiny_patch4_28 has these shapes and 3 heads"});
}

TEST(WhatTheFileSays, AFlagThatContradictsTheFileIsRefused) {
  const std::string zoo = std::string(BITBENCH_SOURCE_DIR) + "/models/zoo/";
  const ViTConfig own = load_model(zoo + "fashion_mnist_default_teacher.safetensors").params.cfg;
  ViTConfig other = own;
  other.num_heads = 8;
  test::expect_error([&] { load_model(zoo + "fashion_mnist_default_teacher.safetensors", GivenConfig(other, "--model-config x.json")); },
                     {"--model-config x.json contradicts", "num_heads 4 / 8"}, ErrorKind::Usage);
  // Packed students state their config too: a preset for another model is refused, the file's own accepted.
  for (const char* student : {"student_w1a8.packed.safetensors", "student_w1.58ra8_rprelu.packed.safetensors"}) {
    SCOPED_TRACE(student);
    test::expect_error([&] { load_model(zoo + student, GivenConfig(vit_preset("deit_tiny_patch16_224"), "--model deit_tiny_patch16_224")); },
                       {"--model deit_tiny_patch16_224 contradicts", "img_size 28 / 224"}, ErrorKind::Usage);
    const LoadedModel packed = load_model(zoo + student);
    EXPECT_NO_THROW(load_model(zoo + student, GivenConfig(packed.params.cfg, "--model-config same.json")));
  }
}

TEST(WhatTheFileSays, AStudentStrippedOfItsPlanIsNotRunAsAnFp32Model) {
  test::TempDir d;
  ViTConfig c = vit_preset("vit_fmnist_tiny_patch4_28");
  c.depth = 1;
  c.rprelu = true;
  ViTParams p(c);
  p.init_random(1);
  std::vector<TensorToWrite> t;
  for (const auto& e : p.entries) t.push_back({e.name, e.shape, DType::F32, p.data(e)});
  write_safetensors(d / "stripped_student.safetensors", t, {});
  test::expect_error([&] { load_model(d / "stripped_student.safetensors", GivenConfig(c)); },
                     {"stripped_student.safetensors", "no quant plan"});
  // A plan without the config it belongs to (bireal has no tensor): refused too.
  write_safetensors(d / "plan_only.safetensors", t,
                    {{"bitbench.quant", to_json(QuantPlan::uniform(1, parse_quant_spec("W1.58A8"))).dump()},
                     {"bitbench.num_heads", "3"}});
  test::expect_error([&] { load_model(d / "plan_only.safetensors"); }, {"plan_only.safetensors", "no bitbench.config"});
}

TEST(WhatTheFileSays, WeightIdentityIgnoresMetadataAndOrderAndMatchesPython) {
  const std::string teacher = std::string(BITBENCH_SOURCE_DIR) + "/models/zoo/fashion_mnist_default_teacher.safetensors";
  const SafetensorsFile f = SafetensorsFile::read(teacher);
  const std::string h = weights_sha256(f);
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(weights_sha256(SafetensorsFile::parse(resaved(f, {{"format", "pt"}}, true), "r.safetensors")), h);
  // One weight changed by one ulp: another identity.
  std::vector<uint8_t> b = resaved(f, {});
  b[b.size() - 1] ^= 1;
  EXPECT_NE(weights_sha256(SafetensorsFile::parse(b, "changed.safetensors")), h);
  // scripts/teacher_lineage.py (what a user outside bitbench runs) computes the same digest.
  FILE* p = ::popen(("python3 " + std::string(BITBENCH_SOURCE_DIR) + "/scripts/teacher_lineage.py hash " + teacher).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[128] = {};
  ASSERT_NE(std::fgets(buf, sizeof buf, p), nullptr);
  ::pclose(p);
  EXPECT_EQ(std::string(buf).substr(0, 64), h);
  // The zoo's students record this teacher.
  for (const char* s : {"student_w1a8.packed.safetensors", "student_w1.58ra8_rprelu.packed.safetensors"})
    EXPECT_EQ(SafetensorsFile::read(std::string(BITBENCH_SOURCE_DIR) + "/models/zoo/" + s).own_metadata().at("teacher_sha256"), h) << s;
}

}  // namespace
}  // namespace bb
