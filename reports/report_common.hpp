#pragma once
// What the report renderers (report.cpp, report_tables.cpp, vega_plots.cpp)
// share: the headline points, lookups into report.json, and the one
// formatting of each figure, so report.md, results.csv and report.html print
// the same numbers.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/text_format.hpp"

namespace bb::report_detail {

using J = nlohmann::ordered_json;

// v with prec decimals, or "–" when v is not a number.
std::string num(const J& v, int prec);
// "+0.04" / "−0.47" (a true minus sign).
std::string signed_fmt(double v, int prec);
// 842.1 kB, 1.03 MB, ...
std::string human_bytes(double b);

// The headline points every table and plot uses: latency at (b_lo, t_lo),
// throughput at (b_hi, t_hi).
struct Headline {
  int b_lo = 0, t_lo = 0, b_hi = 0, t_hi = 0;
};
Headline headline(const J& r);
const J* latency_at(const J& m, int batch, int threads);
const J* teacher_of(const J& r);
// "model (backend)".
std::string model_label(const J& m);

// The speed-up over the teacher at one point: the median of interleaved
// rounds with its 95 % interval and marks (an older report without rounds:
// the ratio of the p50s).
std::string speedup_cell(const J* l, const J* tl);
// The marks alone, in words: "not significant", "noisy", "not significant, noisy" or "".
std::string speedup_marks(const J& l);

// Indices of the points not beaten by another that is both lower in x and at
// least as high in y, in x order (the Pareto front of "smaller/faster and more accurate").
std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& xy);

// The classes of a report's data set: dataset.class_names, or "0", "1", ...
// where a name is missing.
std::vector<std::string> class_names(const J& r, size_t k);

}  // namespace bb::report_detail
