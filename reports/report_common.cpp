#include "reports/report_common.hpp"

#include <algorithm>
#include <cmath>
#include <set>

// GCC 12 reports `"literal" + std::string` temporaries as overlapping memcpy
// (-Wrestrict false positive, GCC PR 105329).
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace bb::report_detail {

std::string num(const J& v, int prec) { return v.is_number() ? fmt(v.get<double>(), prec) : "–"; }
std::string num(double v, int prec) { return std::isnan(v) ? "–" : fmt(v, prec); }
std::string num(const std::optional<double>& v, int prec) { return v ? num(*v, prec) : "–"; }

std::string signed_fmt(double v, int prec) {
  const std::string s = fmt(std::fabs(v), prec);
  if (s.find_first_not_of("0.") == std::string::npos) return s;  // 0.00 has no sign
  return (v < 0 ? "\u2212" : "+") + s;
}

std::string human_bytes(double b) {
  if (b >= 1e9) return fmt(b / 1e9, 2) + " GB";
  if (b >= 1e6) return fmt(b / 1e6, 2) + " MB";
  if (b >= 1e3) return fmt(b / 1e3, 1) + " kB";
  return fmt(b, 0) + " B";
}

Headline headline(const ReportRecord& r) {
  Headline h;
  std::set<int> batches, threads;
  for (const ModelEntry& m : r.models)
    for (const auto& l : latency_points(m)) {
      batches.insert(l["batch"].get<int>());
      threads.insert(l["threads"].get<int>());
    }
  if (batches.empty()) return h;
  h.b_lo = *batches.begin();
  h.b_hi = *batches.rbegin();
  h.t_lo = *threads.begin();
  h.t_hi = *threads.rbegin();
  return h;
}

const J& latency_points(const ModelEntry& m) {
  static const J none = J::array();
  return m.latency && m.latency->is_array() ? *m.latency : none;
}

const J* latency_at(const ModelEntry& m, int batch, int threads) {
  for (const auto& l : latency_points(m))
    if (l["batch"].get<int>() == batch && l["threads"].get<int>() == threads) return &l;
  return nullptr;
}

const ModelEntry* teacher_of(const ReportRecord& r) {
  for (const ModelEntry& m : r.models)
    if (m.role == "teacher") return &m;
  return nullptr;
}

std::string model_label(const ModelEntry& m) { return m.name + " (" + m.backend + ")"; }

std::string speedup_marks(const J& l) {
  std::string s;
  if (l.contains("speedup_vs_teacher") && !l["speedup_vs_teacher"]["significant"].get<bool>()) s = "not significant";
  if (l.value("noisy", false)) s += s.empty() ? "noisy" : ", noisy";
  return s;
}

std::string speedup_cell(const J* l, const J* tl) {
  if (!l) return "–";
  if (l->contains("speedup_vs_teacher")) {
    const J& s = (*l)["speedup_vs_teacher"];
    std::string c = fmt(s["median"].get<double>(), 2) + "× [" + fmt(s["ci95"][0].get<double>(), 2) + "–" +
                    fmt(s["ci95"][1].get<double>(), 2) + "]";
    if (!s["significant"].get<bool>()) c += " not significant";
    if (l->value("noisy", false)) c += " noisy";
    return c;
  }
  return tl ? fmt((*tl)["p50_ms"].get<double>() / (*l)["p50_ms"].get<double>(), 2) + "×" : "–";
}

std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& xy) {
  std::vector<size_t> idx(xy.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return xy[a].first < xy[b].first || (xy[a].first == xy[b].first && xy[a].second > xy[b].second);
  });
  std::vector<size_t> f;
  double best = -1e300;
  for (size_t i : idx)
    if (xy[i].second > best) {
      f.push_back(i);
      best = xy[i].second;
    }
  return f;
}

std::vector<std::string> class_names(const ReportRecord& r, size_t k) {
  std::vector<std::string> out;
  const std::vector<std::string>& names = r.dataset.class_names;
  for (size_t i = 0; i < k; ++i) out.push_back(i < names.size() && !names[i].empty() ? names[i] : std::to_string(i));
  return out;
}

}  // namespace bb::report_detail
