#pragma once
// The report's content once, as sections of paragraphs and tables of
// formatted cells: report.md prints them as Markdown and report.html as HTML
// (plus its plots), so the two carry the same figures and cannot drift.
#include <string>
#include <utility>
#include <vector>

#include "reports/report_common.hpp"

namespace bb::report_detail {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct Section {
  std::string id;                  // the HTML element id ("results", "latency", ...)
  std::string heading;             // "" for the block under the page title
  std::vector<std::string> before; // paragraphs above the table
  Table table;                     // may be empty (no header)
  std::vector<std::string> after;  // paragraphs below the table
  std::vector<std::pair<std::string, std::string>> items;  // a key: value list (the environment)
};

// "fashion-mnist / test, 10000 images."
std::string dataset_line(const ReportRecord& r);
// Results (the main table, each row's "what its bits buy" in words, and how
// to read it), every latency point, memory, fidelity, per-class top-1 with
// class names, the weight-memory projection, the environment.
std::vector<Section> report_sections(const ReportRecord& r);

// What a model's bits buy against the fp32 teacher, in words: "5.9× smaller,
// 1.04× [1.02–1.30] (noisy) at batch 1, 1 thread, −0.47 points"; "the
// reference" for the teacher.
std::string bits_buy(const ReportRecord& r, const ModelEntry& m);

}  // namespace bb::report_detail
