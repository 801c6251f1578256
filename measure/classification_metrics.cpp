#include "measure/classification_metrics.hpp"

#include <algorithm>
#include <cmath>


namespace bb {
namespace {

int argmax(const float* row, int K) { return static_cast<int>(std::max_element(row, row + K) - row); }

// log-softmax of row [K] into out [K] (double: the KL of near-equal models is a small difference).
void log_softmax(const float* row, int K, std::vector<double>& out) {
  const double mx = *std::max_element(row, row + K);
  double sum = 0;
  for (int k = 0; k < K; ++k) sum += std::exp(static_cast<double>(row[k]) - mx);
  const double lse = mx + std::log(sum);
  out.resize(static_cast<size_t>(K));
  for (int k = 0; k < K; ++k) out[static_cast<size_t>(k)] = static_cast<double>(row[k]) - lse;
}

}  // namespace

bool in_top_k(const float* logits, int num_classes, int label, int k) {
  if (label < 0 || label >= num_classes) return false;
  const float v = logits[label];
  int above = 0;
  for (int c = 0; c < num_classes; ++c)
    if (c != label && logits[c] >= v) ++above;
  return above < k;
}

ClassificationMetrics classification_metrics(const float* logits, const int* labels, int64_t N, int K,
                                             const float* teacher) {
  ClassificationMetrics m;
  m.count = N;
  m.num_classes = K;
  m.confusion.assign(static_cast<size_t>(K) * static_cast<size_t>(K), 0);
  m.has_teacher = teacher != nullptr;
  int64_t top1 = 0, top5 = 0, agree = 0;
  double kl = 0;
  std::vector<double> lp, lq;
  for (int64_t i = 0; i < N; ++i) {
    const float* row = logits + i * K;
    const int y = labels[i], pred = argmax(row, K);
    top1 += pred == y;
    top5 += in_top_k(row, K, y, std::min(5, K));
    if (y >= 0 && y < K) ++m.confusion[static_cast<size_t>(y) * static_cast<size_t>(K) + static_cast<size_t>(pred)];
    if (teacher) {
      const float* t = teacher + i * K;
      agree += argmax(t, K) == pred;
      log_softmax(t, K, lp);
      log_softmax(row, K, lq);
      double d = 0;
      for (int k = 0; k < K; ++k) d += std::exp(lp[static_cast<size_t>(k)]) * (lp[static_cast<size_t>(k)] - lq[static_cast<size_t>(k)]);
      kl += d;
    }
  }
  const double n = N > 0 ? static_cast<double>(N) : 1.0;
  m.top1 = 100.0 * static_cast<double>(top1) / n;
  m.top5 = 100.0 * static_cast<double>(top5) / n;
  if (teacher) {
    m.agreement = 100.0 * static_cast<double>(agree) / n;
    m.kl_teacher = kl / n;
  }
  m.per_class_accuracy.assign(static_cast<size_t>(K), -1.0);
  double f1_sum = 0;
  int f1_classes = 0;
  for (int c = 0; c < K; ++c) {
    int64_t tp = m.confusion[static_cast<size_t>(c) * static_cast<size_t>(K) + static_cast<size_t>(c)], actual = 0, predicted = 0;
    for (int j = 0; j < K; ++j) {
      actual += m.confusion[static_cast<size_t>(c) * static_cast<size_t>(K) + static_cast<size_t>(j)];
      predicted += m.confusion[static_cast<size_t>(j) * static_cast<size_t>(K) + static_cast<size_t>(c)];
    }
    if (actual > 0) m.per_class_accuracy[static_cast<size_t>(c)] = 100.0 * static_cast<double>(tp) / static_cast<double>(actual);
    if (actual == 0 && predicted == 0) continue;
    f1_sum += actual + predicted > 0 ? 2.0 * static_cast<double>(tp) / static_cast<double>(actual + predicted) : 0.0;
    ++f1_classes;
  }
  m.macro_f1 = f1_classes ? 100.0 * f1_sum / f1_classes : 0;
  return m;
}

}  // namespace bb
