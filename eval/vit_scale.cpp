#include "eval/vit_scale.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "models/quant.hpp"
#include "models/runnable_model.hpp"
#include "models/vit_config.hpp"

namespace bb {
namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }

// What the format runs: its plan (null for fp32) on a model of config c.
std::optional<QuantPlan> plan_of(const ScaleFormat& f, const ViTConfig& c) {
  if (!*f.spec) return std::nullopt;
  QuantPlan plan = QuantPlan::uniform(c.depth, parse_quant_spec(f.spec));
  if (f.integer) {
    plan.attn_qk = plan.attn_pv = ActFormat::kInt8;
    plan.integer = true;
  }
  return plan;
}

}  // namespace

const std::vector<ScaleFormat>& scale_formats() {
  static const std::vector<ScaleFormat> rows = {
      {.name = "fp32", .spec = "", .backend = ModelBackend::kOnednn, .integer = false},
      {.name = "W8A8 (PTQ)", .spec = "W8A8", .backend = ModelBackend::kOnednnInt8, .integer = false},
      {.name = "ternary W1.58A8", .spec = "W1.58A8", .backend = ModelBackend::kBitKernels, .integer = false},
      {.name = "ternary W1.58A8, integer-only", .spec = "W1.58A8", .backend = ModelBackend::kBitKernels, .integer = true},
      {.name = "W1A8", .spec = "W1A8", .backend = ModelBackend::kBitKernels, .integer = false},
      {.name = "W1A1", .spec = "W1A1", .backend = ModelBackend::kBitKernels, .integer = false},
  };
  return rows;
}

nlohmann::ordered_json measure_vit_scale(const ScaleProtocol& p, bool progress) {
  const auto start = std::chrono::steady_clock::now();
  const int threads = num_threads();
  nlohmann::ordered_json out;
  out["label"] = "shape only: speed and memory, no accuracy";
  out["threads"] = threads;
  out["protocol"] = {{"batch_sizes", p.batches},
                     {"rounds", p.rounds.rounds},
                     {"min_seconds_per_model", p.rounds.min_seconds},
                     {"warmup", p.rounds.warmup},
                     {"reference", scale_formats().front().name}};
  out["presets"] = nlohmann::ordered_json::array();
  for (const std::string& name : p.presets) {
    const ViTConfig c = vit_preset(name);  // Error(Usage) naming the presets for an unknown one
    if (progress) std::fprintf(stderr, "scale %s: opening %zu models\n", name.c_str(), scale_formats().size());
    std::vector<std::unique_ptr<RunnableModel>> models;
    {
      ViTParams weights(c);
      weights.init_random(p.seed + 1);  // drawn once (DeiT-Base: 86 M values), the same weights for every format
      for (const ScaleFormat& f : scale_formats()) {
        ViTParams params(c);
        std::copy(weights.flat.data(), weights.flat.data() + weights.flat.numel(), params.flat.data());
        const std::optional<QuantPlan> plan = plan_of(f, c);
        models.push_back(open_model(std::move(params), plan ? &*plan : nullptr, f.backend));
      }
    }  // the draw freed before timing
    {  // one untimed batch-1 call each (primitives, first touch of the weights), so that a
       // protocol without warm-up calls (a batch-64 call of DeiT-Base takes seconds) starts warm
      Tensor one(Shape{1, c.in_chans, c.img_size, c.img_size});
      for (int64_t i = 0; i < one.numel(); ++i) one[i] = 0.5f;
      for (auto& m : models) m->forward(one.view());
    }
    nlohmann::ordered_json preset = {{"preset", name},
                                     {"params", models.front()->model().params.count()},
                                     {"tokens", c.tokens()},
                                     {"width", c.embed_dim},
                                     {"depth", c.depth},
                                     {"models", nlohmann::ordered_json::array()}};
    const double fp32_bytes = static_cast<double>(models.front()->weight_bytes_in_memory());
    for (size_t i = 0; i < models.size(); ++i) {
      const ScaleFormat& f = scale_formats()[i];
      const double bytes = static_cast<double>(models[i]->weight_bytes_in_memory());
      preset["models"].push_back({{"format", f.name},
                                  {"spec", *f.spec ? f.spec : "FP32"},
                                  {"backend", model_backend_name(f.backend)},
                                  {"kernel_path", models[i]->kernel_path()},
                                  {"weight_bytes", static_cast<int64_t>(bytes)},
                                  {"weights_vs_fp32", round_to(bytes / fp32_bytes, 1e-4)},
                                  {"points", nlohmann::ordered_json::array()}});
    }
    for (int B : p.batches) {
      Tensor x(Shape{B, c.in_chans, c.img_size, c.img_size});
      Rng r(p.seed + 2);
      for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.normal());
      std::vector<std::function<void()>> runs;
      for (auto& m : models) runs.push_back([&m, &x] { m->forward(x.view()); });
      if (progress) std::fprintf(stderr, "scale %s: batch %d, %d thread(s)\n", name.c_str(), B, threads);
      RoundsOptions ro = p.rounds;
      ro.seed = p.seed + static_cast<uint64_t>(B);
      const RoundsResult t = measure_rounds(runs, B, threads, ro);
      for (size_t i = 0; i < models.size(); ++i) {
        const RatioInterval& s = t.speedup[i];
        preset["models"][i]["points"].push_back({{"batch", B},
                                                 {"p50_ms", round_to(t.stats[i].p50_ms, 1e-4)},
                                                 {"images_per_s", round_to(t.stats[i].images_per_s, 0.1)},
                                                 {"settled", t.stats[i].settled},
                                                 {"speedup_vs_fp32",
                                                  {{"median", round_to(s.median, 1e-4)},
                                                   {"ci95", {round_to(s.lo, 1e-4), round_to(s.hi, 1e-4)}},
                                                   {"significant", s.significant()}}}});
      }
    }
    out["presets"].push_back(preset);
  }
  out["seconds"] = round_to(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.01);
  return out;
}

}  // namespace bb
