#pragma once
// What the report renderers (report.cpp, report_tables.cpp, vega_plots.cpp)
// share: the headline points, lookups into the report record, and the one
// formatting of each figure, so report.md, results.csv and report.html print
// the same numbers.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/report_record.hpp"
#include "reports/text_format.hpp"

namespace bb::report_detail {

using J = nlohmann::ordered_json;

// v with prec decimals, or "–" when v is not a number (null in report.json, NaN, or absent).
std::string num(const J& v, int prec);
std::string num(double v, int prec);
std::string num(const std::optional<double>& v, int prec);
// "+0.04" / "−0.47" (a true minus sign).
std::string signed_fmt(double v, int prec);
// 842.1 kB, 1.03 MB, ...
std::string human_bytes(double b);

// The headline points every table and plot uses: latency at (b_lo, t_lo),
// throughput at (b_hi, t_hi).
struct Headline {
  int b_lo = 0, t_lo = 0, b_hi = 0, t_hi = 0;
};
Headline headline(const ReportRecord& r);
// A model's latency points (the meter's JSON objects), an empty array when it has none.
const J& latency_points(const ModelEntry& m);
const J* latency_at(const ModelEntry& m, int batch, int threads);
const ModelEntry* teacher_of(const ReportRecord& r);
// "model (backend)".
std::string model_label(const ModelEntry& m);

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
std::vector<std::string> class_names(const ReportRecord& r, size_t k);

}  // namespace bb::report_detail
