#pragma once
// Accuracy and fidelity from logits: what the run report says about a model's
// predictions. Pure functions of the logits and labels, so one implementation
// serves every model and backend.
#include <cstdint>
#include <vector>

namespace bb {

struct ClassificationMetrics {
  int64_t count = 0;
  int num_classes = 0;
  double top1 = 0, top5 = 0;                // percent
  double macro_f1 = 0;                      // percent, mean of per-class F1 (classes with no sample and no prediction skipped)
  std::vector<double> per_class_accuracy;   // [K] percent (recall); -1 for a class with no sample
  std::vector<int64_t> confusion;           // [K, K] row = true class, column = predicted (top-1)
  // Fidelity to a teacher (when its logits are given): top-1 agreement in
  // percent and the mean over images of KL(p_teacher ‖ p_model) in nats.
  bool has_teacher = false;
  double agreement = 0, kl_teacher = 0;
};

// Rank of the true class among logits: true when it is within the k largest
// (ties count against the true class, so a constant output scores nothing).
bool in_top_k(const float* logits, int num_classes, int label, int k);

// logits [N, K] and labels [N]; teacher [N, K] or null. Ties in top-1 go to the
// lowest class index; top-5 counts ties against the true class (as in_top_k).
ClassificationMetrics classification_metrics(const float* logits, const int* labels, int64_t N, int K,
                                             const float* teacher = nullptr);

}  // namespace bb
