#pragma once
// report.html's plots as Vega 5 specifications, made from report.json alone:
// top-1 against model size (log scale) and against batch-1 latency, each with
// its Pareto front and a tooltip per point; every speed-up with its 95 %
// interval as an error bar; the training curves (whole epochs); the best
// student's confusion matrix with both axes named by class.
#include <string>
#include <vector>

#include "reports/report_common.hpp"

namespace bb::report_detail {

struct Plot {
  std::string id;      // HTML element id, "plot-size", ...
  std::string caption; // one line under the plot: how to read it
  J spec;              // a Vega 5 specification
  size_t points = 0;   // its data marks (symbols, or the heat map's cells): the page checks they all rendered
};

// The plots the report's data allow (training curves only with a history,
// the speed-up intervals only with interleaved rounds, the confusion matrix
// only with a student).
std::vector<Plot> report_plots(const ReportRecord& r);

}  // namespace bb::report_detail
