#include "eval/precision_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/timer.hpp"
#include "kernels/act_quant.hpp"
#include "kernels/backend.hpp"
#include "models/int_engine.hpp"
#include "models/vit.hpp"

namespace bb {
namespace {

const char* measure_name(SearchMeasure m) { return m == SearchMeasure::kKL ? "kl" : "top1"; }
const char* cost_name(SearchCost c) { return c == SearchCost::kBytes ? "bytes" : "latency"; }

// A block Linear's weights [N, K].
const float* layer_weight(const ViTParams& p, const SearchLayer& l) { return p.data(*p.find(l.name + ".weight")); }

// A move's sensitivity: negative deltas (a rung that happens to help) count as free, not as credit.
double sens(const SensitivityTable& t, size_t l, int r) { return std::max(0.0, t.delta[l][static_cast<size_t>(r)]); }

double predicted_of(const SensitivityTable& t, const std::vector<int>& rung) {
  double s = 0;
  for (size_t l = 0; l < rung.size(); ++l) s += sens(t, l, rung[l]);
  return s;
}

}  // namespace

SearchConfig read_search_config(const nlohmann::json& j, const std::string& file, const std::string& path) {
  JsonReader r(j, file, path);
  SearchConfig c;
  const nlohmann::json* ladder = r.raw("ladder");
  if (!ladder || !ladder->is_array() || ladder->empty())
    throw Error::config(file, path + "/ladder", "needs a non-empty array of specs below the student's quant.spec, e.g. [\"W1.58A8\", \"W1A8\"]");
  for (size_t i = 0; i < ladder->size(); ++i) {
    const std::string at = path + "/ladder/" + std::to_string(i);
    if (!(*ladder)[i].is_string()) throw Error::config(file, at, "must be a spec string such as \"W1A8\"");
    QuantSpec s;
    try {
      s = parse_quant_spec((*ladder)[i].get<std::string>());
    } catch (const Error& e) {
      throw Error::config(file, at, e.what());
    }
    if (!int_engine_supports(s))
      throw Error::config(file, at, s.name() + " does not run on the integer kernels (a rung needs quantised weights and activations)");
    if (std::find(c.ladder.begin(), c.ladder.end(), s) != c.ladder.end())
      throw Error::config(file, at, s.name() + " is on the ladder twice");
    c.ladder.push_back(s);
  }
  std::string measure = "kl", cost = "bytes";
  r.read_enum("measure", measure, {"kl", "top1"});
  c.measure = measure == "kl" ? SearchMeasure::kKL : SearchMeasure::kTop1;
  r.read("budget", c.budget, Range{0, 1e6});
  r.read_enum("cost", cost, {"bytes", "latency"});
  c.cost = cost == "bytes" ? SearchCost::kBytes : SearchCost::kLatency;
  r.read("cost_batch", c.cost_batch, 1, 4096);
  r.read("images", c.images, 1, 1'000'000);
  r.finish();
  return c;
}

nlohmann::json to_json(const SearchConfig& c) {
  nlohmann::json ladder = nlohmann::json::array();
  for (const QuantSpec& s : c.ladder) ladder.push_back(s.name());
  return {{"ladder", ladder}, {"measure", measure_name(c.measure)}, {"budget", c.budget},
          {"cost", cost_name(c.cost)}, {"cost_batch", c.cost_batch}, {"images", c.images}};
}

double assignment_cost(const SensitivityTable& t, const std::vector<int>& rung) {
  double s = 0;
  for (size_t l = 0; l < rung.size(); ++l) s += t.cost[l][static_cast<size_t>(rung[l])];
  return s;
}

std::vector<int> greedy_assignment(const SensitivityTable& t, double budget, std::vector<SearchStep>* trace) {
  std::vector<int> rung(t.layers.size(), 0);
  double predicted = 0;
  const int R = static_cast<int>(t.rungs.size());
  for (;;) {
    // The step with the most cost saved per sensitivity added; a free step
    // (nothing added) ranks by its saving alone, ahead of every paid one.
    int best_l = -1, best_r = -1;
    double best_ratio = -1, best_add = 0;
    bool best_free = false;
    for (size_t l = 0; l < rung.size(); ++l)
      for (int r = rung[l] + 1; r < R; ++r) {
        const double saved = t.cost[l][static_cast<size_t>(rung[l])] - t.cost[l][static_cast<size_t>(r)];
        const double add = sens(t, l, r) - sens(t, l, rung[l]);
        if (saved <= 0 || predicted + add > budget) continue;
        const bool free = add <= 0;
        const double ratio = free ? saved : saved / add;
        if (best_l < 0 || (free && !best_free) || (free == best_free && ratio > best_ratio)) {
          best_l = static_cast<int>(l);
          best_r = r;
          best_ratio = ratio;
          best_add = add;
          best_free = free;
        }
      }
    if (best_l < 0) break;
    const int from = rung[static_cast<size_t>(best_l)];
    rung[static_cast<size_t>(best_l)] = best_r;
    predicted += best_add;
    if (trace) trace->push_back({"down", best_l, from, best_r, predicted_of(t, rung), assignment_cost(t, rung), std::numeric_limits<double>::quiet_NaN()});
  }
  return rung;
}

SearchOutcome search_precision(const SensitivityTable& t, double budget,
                               const std::function<double(const std::vector<int>&)>& measure) {
  SearchOutcome o;
  o.start_cost = assignment_cost(t, std::vector<int>(t.layers.size(), 0));
  o.rung = greedy_assignment(t, budget, &o.trace);
  o.measured = measure(o.rung);
  if (!o.trace.empty()) o.trace.back().measured = o.measured;
  // Verification: sensitivities need not add up. While the whole exceeds the
  // budget, the stepped-down layer that cost the most goes back up: to the
  // nearest higher rung that loses less alone (a higher rung can lose more,
  // e.g. ternary against binary post-training), else to the start spec.
  while (o.measured > budget) {
    int worst = -1;
    for (size_t l = 0; l < o.rung.size(); ++l)
      if (o.rung[l] > 0 && (worst < 0 || sens(t, l, o.rung[l]) > sens(t, static_cast<size_t>(worst), o.rung[static_cast<size_t>(worst)])))
        worst = static_cast<int>(l);
    if (worst < 0) break;  // the start plan itself: nothing left to revert
    const size_t w = static_cast<size_t>(worst);
    const int from = o.rung[w];
    int to = 0;
    for (int r = from - 1; r > 0; --r)
      if (sens(t, w, r) < sens(t, w, from)) {
        to = r;
        break;
      }
    o.rung[w] = to;
    o.measured = measure(o.rung);
    o.trace.push_back({"revert", worst, from, to, predicted_of(t, o.rung), assignment_cost(t, o.rung), o.measured});
  }
  o.predicted = predicted_of(t, o.rung);
  o.cost = assignment_cost(t, o.rung);
  return o;
}

QuantPlan plan_of(const QuantPlan& start, const SensitivityTable& t, const std::vector<int>& rung) {
  QuantPlan p = start;
  for (size_t l = 0; l < t.layers.size(); ++l)
    p.blocks.at(static_cast<size_t>(t.layers[l].block))[static_cast<size_t>(t.layers[l].slot)] =
        t.rungs.at(static_cast<size_t>(rung.at(l)));
  return p;
}

PlanScorer::PlanScorer(const SearchInputs& in) : in_(in) {
  auto backend = make_backend(ModelBackend::kOnednn);
  ViTRunner teacher(*in_.teacher, *backend, false, in_.teacher_plan);
  int64_t K = 0;
  in_.batches([&](const TensorView& x, const std::vector<int>& labels) {
    const TensorView y = teacher.forward(x);
    K = y.dim(1);
    teacher_logits_.insert(teacher_logits_.end(), y.data(), y.data() + y.numel());
    images_ += static_cast<int64_t>(labels.size());
  });
  if (images_ == 0) throw Error::usage("the search's calibration set is empty");
  (void)K;
  start_ = score(in_.start);
}

PlanScorer::Score PlanScorer::score(const QuantPlan& plan) const {
  auto backend = make_backend(ModelBackend::kOnednn);
  ViTRunner model(*in_.weights, *backend, false, &plan);
  const int64_t K = static_cast<int64_t>(teacher_logits_.size()) / images_;
  double kl = 0;
  int64_t correct = 0, at = 0;
  in_.batches([&](const TensorView& x, const std::vector<int>& labels) {
    const TensorView y = model.forward(x);
    for (size_t i = 0; i < labels.size(); ++i, ++at) {
      const float* s = y.data() + static_cast<int64_t>(i) * K;
      const float* t = teacher_logits_.data() + at * K;
      // KL(p_t ‖ p_s) with both softmaxes in log space (stable for any logits).
      double mt = t[0], ms = s[0];
      for (int64_t k = 1; k < K; ++k) {
        mt = std::max(mt, static_cast<double>(t[k]));
        ms = std::max(ms, static_cast<double>(s[k]));
      }
      double zt = 0, zs = 0;
      for (int64_t k = 0; k < K; ++k) {
        zt += std::exp(t[k] - mt);
        zs += std::exp(s[k] - ms);
      }
      const double lzt = mt + std::log(zt), lzs = ms + std::log(zs);
      int64_t arg = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double lpt = t[k] - lzt, lps = s[k] - lzs;
        kl += std::exp(lpt) * (lpt - lps);
        if (s[k] > s[arg]) arg = k;
      }
      correct += arg == labels[i];
    }
  });
  return {kl / static_cast<double>(images_), 100.0 * static_cast<double>(correct) / static_cast<double>(images_)};
}

double PlanScorer::lost(const Score& s, SearchMeasure m) const {
  return m == SearchMeasure::kKL ? s.kl - start_.kl : start_.top1 - s.top1;
}

std::vector<double> layer_costs(const SearchConfig& c, const ViTParams& p, const SearchLayer& l,
                                const std::vector<QuantSpec>& rungs, ActScale act_scale) {
  std::vector<double> out;
  const float* w = layer_weight(p, l);
  for (const QuantSpec& s : rungs) {
    if (!int_engine_supports(s))  // read_student refuses these in a config
      throw Error::usage("the search costs " + l.name + " on the integer kernels, which cannot run " + s.name());
    const WeightFormatTraits& wt = weight_traits(s.w);
    std::vector<int8_t> codes(static_cast<size_t>(l.N * l.K));
    std::vector<float> scales(static_cast<size_t>(l.N));
    wt.codes(w, l.N, l.K, codes.data(), scales.data());
    IntLinear layer(ModelBackend::kBitKernels, s, codes.data(), scales.data(), l.N, l.K, act_scale);
    if (c.cost == SearchCost::kBytes) {
      out.push_back(static_cast<double>(layer.weight_bytes()));
      continue;
    }
    // Median of 7 timed calls after one warm-up, on inputs that exercise every code.
    const int64_t M = static_cast<int64_t>(c.cost_batch) * p.cfg.tokens();
    std::vector<float> x(static_cast<size_t>(M * l.K)), y(static_cast<size_t>(M * l.N));
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.f, 1.f);
    for (float& v : x) v = nd(rng);
    BitActs acts;
    std::vector<double> ms;
    for (int i = 0; i < 8; ++i) {
      Timer t;
      layer.forward(x.data(), nullptr, y.data(), M, acts);
      if (i > 0) ms.push_back(t.millis());
    }
    std::nth_element(ms.begin(), ms.begin() + 3, ms.end());
    out.push_back(ms[3]);
  }
  return out;
}

SensitivityTable measure_sensitivity(const SearchConfig& c, const PlanScorer& scorer, const SearchInputs& in) {
  SensitivityTable t;
  t.rungs.push_back(in.start.spec);
  t.rungs.insert(t.rungs.end(), c.ladder.begin(), c.ladder.end());
  t.measure = c.measure;
  t.cost_kind = c.cost;
  t.base = c.measure == SearchMeasure::kKL ? scorer.start().kl : scorer.start().top1;
  t.base_top1 = scorer.start().top1;
  t.images = scorer.images();
  for (const PlannedLinear& l : plan_linears(in.weights->cfg, in.start)) {
    if (l.site != LinearSite::kBlock) continue;
    if (!(l.spec == in.start.spec))
      throw Error::usage("the search starts every block Linear at quant.spec (" + in.start.spec.name() +
                         "); drop the student's quant.blocks overrides");
    const std::string name = l.name.substr(0, l.name.size() - std::string(".weight").size());  // "blocks.2.mlp.fc1"
    t.layers.push_back({name, l.block, l.slot, l.N, l.K});
  }
  Timer timer;
  for (size_t l = 0; l < t.layers.size(); ++l) {
    const SearchLayer& L = t.layers[l];
    t.cost.push_back(layer_costs(c, *in.weights, L, t.rungs, in.start.act_scale));
    std::vector<double> d = {0.0};
    for (size_t r = 1; r < t.rungs.size(); ++r) {
      std::vector<int> one(t.layers.size(), 0);
      one[l] = static_cast<int>(r);
      d.push_back(scorer.lost(scorer.score(plan_of(in.start, t, one)), c.measure));
    }
    t.delta.push_back(std::move(d));
    if (in.progress)
      std::fprintf(stderr, "\r  sensitivity: %zu/%zu layers (%.0f s)", l + 1, t.layers.size(), timer.seconds());
  }
  if (in.progress) std::fprintf(stderr, "\n");
  return t;
}

nlohmann::json to_json(const SensitivityTable& t, const SearchOutcome& o, const SearchConfig& c) {
  nlohmann::json rungs = nlohmann::json::array(), layers = nlohmann::json::array(), trace = nlohmann::json::array();
  for (const QuantSpec& s : t.rungs) rungs.push_back(s.name());
  for (size_t l = 0; l < t.layers.size(); ++l) {
    const SearchLayer& L = t.layers[l];
    layers.push_back({{"name", L.name}, {"block", L.block}, {"slot", L.slot}, {"N", L.N}, {"K", L.K},
                      {"delta", t.delta[l]}, {"cost", t.cost[l]},
                      {"chosen", t.rungs[static_cast<size_t>(o.rung[l])].name()}});
  }
  for (const SearchStep& s : o.trace) {
    nlohmann::json j = {{"action", s.action}, {"layer", t.layers[static_cast<size_t>(s.layer)].name},
                        {"from", t.rungs[static_cast<size_t>(s.from)].name()}, {"to", t.rungs[static_cast<size_t>(s.to)].name()},
                        {"predicted", s.predicted}, {"cost", s.cost}};
    if (!std::isnan(s.measured)) j["measured"] = s.measured;
    trace.push_back(j);
  }
  return {{"config", to_json(c)},
          {"rungs", rungs},
          {"measure", measure_name(t.measure)},
          {"cost_unit", t.cost_kind == SearchCost::kBytes ? "bytes" : "ms"},
          {"calibration_images", t.images},
          {"start", {{"measure", t.base}, {"top1", t.base_top1}, {"cost", o.start_cost}}},
          {"layers", layers},
          {"trace", trace},
          {"chosen", {{"predicted", o.predicted}, {"measured", o.measured}, {"cost", o.cost},
                      {"cost_vs_start", o.start_cost > 0 ? o.cost / o.start_cost : 0}}}};
}

}  // namespace bb
