#include "eval/evaluator.hpp"

#include <algorithm>
#include <cstring>

#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/timer.hpp"
#include "measure/classification_metrics.hpp"

namespace bb {

EvalResult evaluate(const ModelFn& model, Loader& loader, bool keep_logits, const std::string& label) {
  EvalResult r;
  Progress bar(label, loader.num_samples(), "img");
  Timer wall;
  loader.start_epoch(0);
  while (const Batch* b = loader.next()) {
    Timer t;
    TensorView out = model(b->images);
    r.model_seconds += t.seconds();
    const int K = static_cast<int>(out.dim(1));
    r.num_classes = K;
    for (int i = 0; i < b->size(); ++i) {
      const float* row = out.data() + static_cast<int64_t>(i) * K;
      int y = b->labels[static_cast<size_t>(i)];
      r.top1_correct += in_top_k(row, K, y, 1);
      r.top5_correct += in_top_k(row, K, y, std::min(5, K));
    }
    if (keep_logits) {
      r.logits.insert(r.logits.end(), out.data(), out.data() + out.numel());
      r.labels.insert(r.labels.end(), b->labels.begin(), b->labels.end());
    }
    r.count += b->size();
    bar.advance(b->size());
  }
  r.seconds = wall.seconds();
  bar.finish();
  if (loader.ranks() > 1) {
    // Each rank evaluated its contiguous shard: the counts are summed exactly
    // on every rank, the logits and labels concatenated on rank 0 in rank
    // order (= sample order), the times are the slowest rank's.
    int64_t c[3] = {r.count, r.top1_correct, r.top5_correct};
    comm::allreduce_sum(c, 3);
    r.count = c[0];
    r.top1_correct = c[1];
    r.top5_correct = c[2];
    double t[2] = {r.seconds, r.model_seconds};
    std::vector<double> all = comm::gather_to_root(std::vector<double>(t, t + 2));
    for (size_t i = 0; i < all.size(); i += 2) {
      r.seconds = std::max(r.seconds, all[i]);
      r.model_seconds = std::max(r.model_seconds, all[i + 1]);
    }
    r.num_classes = comm::allreduce_max(r.num_classes);
    if (keep_logits) {
      r.logits = comm::gather_to_root(r.logits);
      r.labels = comm::gather_to_root(r.labels);
    }
  }
  return r;
}

}  // namespace bb
