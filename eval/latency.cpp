#include "eval/latency.hpp"

#include <algorithm>
#include <cmath>

namespace bb {

double percentile(std::vector<double>& s, double q) {
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  const double rank = std::ceil(q / 100.0 * static_cast<double>(s.size()));
  const size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(s.size()))) - 1;
  return s[i];
}

}  // namespace bb
