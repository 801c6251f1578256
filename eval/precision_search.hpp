#pragma once
// Mixed precision by measured sensitivity (issue #34): which block Linears of
// a student can step down a ladder of specs, and the cheapest assignment
// whose measured loss stays within a budget. A distillation config's student
// asks for it with a "search" section; its plan is then the search's, and it
// is distilled like any other student (eval/distill.hpp):
//
//   {"name": "student_mixed", "quant": {"spec": "W8A8"},   // every block Linear starts at spec
//    "search": {"ladder": ["W1.58A8", "W1A8"],  // the rungs below it, top to bottom
//               "measure": "kl",      // "kl": mean KL(teacher ‖ model) in nats; "top1": points lost
//               "budget": 0.05,       // the most the chosen plan's measure may exceed the start plan's
//               "cost": "bytes",      // "bytes": the layer's weights as the bit kernels hold them;
//                                     // "latency": the layer's median time at cost_batch images
//               "cost_batch": 64,
//               "images": 2000}}      // calibration images: the first of the training split, un-augmented
//
// The steps, each measured, none guessed:
//   1. sensitivity[l][r]: the measure with only Linear l at rung r (weights:
//      the student's initialiser), minus the start plan's (NNCF's and
//      HAWQ's per-layer probe, with the teacher's logits as the reference);
//   2. cost[l][r]: that layer packed at rung r on the bit kernels, in bytes
//      (or timed);
//   3. greedy: repeatedly the step down (any layer, to any lower rung) with
//      the most cost saved per unit of sensitivity added whose predicted sum
//      stays within the budget (the additive knapsack relaxation);
//   4. verified: the assignment measured as a whole; while it exceeds the
//      budget, the most sensitive stepped-down layer goes back up, to the
//      nearest higher rung that loses less alone or to the start (NNCF's
//      accuracy-aware reverting).
// A greedy heuristic, not an exact knapsack: it finds a cheap plan within the
// budget, not provably the cheapest.
// The calibration images come from the training split: the eval split scores
// the distilled result and must not choose it.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.hpp"
#include "models/quant.hpp"
#include "models/vit_params.hpp"

namespace bb {

enum class SearchMeasure : uint8_t { kKL, kTop1 };
enum class SearchCost : uint8_t { kBytes, kLatency };

struct SearchConfig {
  std::vector<QuantSpec> ladder;  // rungs below the start spec, top to bottom
  SearchMeasure measure = SearchMeasure::kKL;
  double budget = 0.05;
  SearchCost cost = SearchCost::kBytes;
  int cost_batch = 64;
  int64_t images = 2000;
};
// Error(Config) at file/path for a bad key, value or rung.
SearchConfig read_search_config(const nlohmann::json& j, const std::string& file, const std::string& path);
nlohmann::json to_json(const SearchConfig& c);

// A block Linear the search assigns.
struct SearchLayer {
  std::string name;  // "blocks.2.mlp.fc1"
  int block = 0, slot = 0;
  int64_t N = 0, K = 0;
};

// What steps 1 and 2 measured. Rung 0 is the start spec, rungs 1.. the ladder.
struct SensitivityTable {
  std::vector<SearchLayer> layers;
  std::vector<QuantSpec> rungs;
  SearchMeasure measure = SearchMeasure::kKL;
  SearchCost cost_kind = SearchCost::kBytes;
  double base = 0;       // the start plan's measure (KL, or top-1 in percent)
  double base_top1 = 0;  // the start plan's top-1 on the calibration images
  int64_t images = 0;
  std::vector<std::vector<double>> delta;  // [layer][rung]: measure lost with only this layer at the rung (rung 0: 0)
  std::vector<std::vector<double>> cost;   // [layer][rung]: bytes or ms
};

// One decision of the search.
struct SearchStep {
  std::string action;  // "down" (greedy) or "revert" (verification)
  int layer = 0, from = 0, to = 0;
  double predicted = 0;  // the sum of the assignment's sensitivities after the step
  double cost = 0;       // the assignment's total cost after the step
  double measured = std::numeric_limits<double>::quiet_NaN();  // the whole assignment, when measured after the step
};

struct SearchOutcome {
  std::vector<int> rung;  // per layer
  double predicted = 0, measured = 0, cost = 0, start_cost = 0;
  std::vector<SearchStep> trace;
};

// Step 3 on a table: the greedy assignment within the budget (pure; trace optional).
std::vector<int> greedy_assignment(const SensitivityTable& t, double budget, std::vector<SearchStep>* trace = nullptr);
// Steps 3 and 4: measure(rungs) gives the whole assignment's measure lost
// against the start plan (the caller measures it on the calibration images).
SearchOutcome search_precision(const SensitivityTable& t, double budget,
                               const std::function<double(const std::vector<int>&)>& measure);
// The start plan with each block Linear at its rung.
QuantPlan plan_of(const QuantPlan& start, const SensitivityTable& t, const std::vector<int>& rung);
// The total cost of an assignment.
double assignment_cost(const SensitivityTable& t, const std::vector<int>& rung);

// Calls fn(images [B, C, S, S], labels) for every calibration batch, in the same order each time.
using BatchSource = std::function<void(const std::function<void(const TensorView&, const std::vector<int>&)>&)>;

// Steps 1 and 2 for a student's weights under a start plan; teacher (with
// its plan, null for fp32) gives the reference logits. Runs on the given
// calibration batches with the fake-quant forward.
struct SearchInputs {
  const ViTParams* weights = nullptr;
  QuantPlan start;
  const ViTParams* teacher = nullptr;
  const QuantPlan* teacher_plan = nullptr;
  BatchSource batches;
  bool progress = false;
};
class PlanScorer {
 public:
  explicit PlanScorer(const SearchInputs& in);
  // KL(teacher ‖ model) averaged over the images, and top-1 in percent.
  struct Score {
    double kl = 0, top1 = 0;
  };
  Score score(const QuantPlan& plan) const;
  // The measure lost against the start plan (KL added, or top-1 points lost).
  double lost(const Score& s, SearchMeasure m) const;
  const Score& start() const { return start_; }
  int64_t images() const { return images_; }

 private:
  SearchInputs in_;
  std::vector<float> teacher_logits_;  // [images, classes]
  int64_t images_ = 0;
  Score start_;
};

SensitivityTable measure_sensitivity(const SearchConfig& c, const PlanScorer& scorer, const SearchInputs& in);
// The layer's cost at every rung: bytes packed on the bit kernels, or median
// ms of its forward at batch · tokens rows.
std::vector<double> layer_costs(const SearchConfig& c, const ViTParams& p, const SearchLayer& l,
                                const std::vector<QuantSpec>& rungs, ActScale act_scale);

// The whole record (search.json, and a searched student's file metadata).
nlohmann::json to_json(const SensitivityTable& t, const SearchOutcome& o, const SearchConfig& c);

}  // namespace bb
