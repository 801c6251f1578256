#pragma once
// The run report: report.json is the contract (reports/report.schema.json
// describes it); report.md, results.csv and report.html are renderings of it,
// re-made from the JSON alone by `bitbench report`. compare_reports gates CI.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/report_record.hpp"

namespace bb {

inline constexpr int kReportSchemaVersion = 2;

// The report as a record (reports/report_record.hpp); nlohmann::json::exception
// or std::invalid_argument naming the part ("models[1]: ...") when it lacks a field.
ReportRecord report_record(const nlohmann::ordered_json& report);

std::string render_markdown(const ReportRecord& report);
std::string render_csv(const ReportRecord& report);
std::string render_html(const ReportRecord& report);
// The same from report.json's JSON (read into a record first).
std::string render_markdown(const nlohmann::ordered_json& report);
std::string render_csv(const nlohmann::ordered_json& report);
std::string render_html(const nlohmann::ordered_json& report);

// Writes report.json (when with_json), report.md, results.csv and report.html into dir, each atomically.
void write_report_files(const nlohmann::ordered_json& report, const std::string& dir, bool with_json = true);

// Reads a report.json; Error(Input) naming the file when it is not one (or a newer schema).
nlohmann::ordered_json read_report(const std::string& path);

struct Comparison {
  std::vector<std::string> caveats;  // what differs between the two runs besides the models (images, machine, ...)
  std::string text;     // a Markdown table of the deltas, one row per model × backend
  bool crossed = false;  // a threshold was crossed (or a model of A is missing in B)
};
// B against A: top-1 drop in points beyond max_top1_drop, or batch-1 latency
// slower by more than max_slowdown_pct, crosses; negative thresholds are off.
// The caveats say what else differs (images, split, machine, busy flag), and
// always that timings from two runs were not interleaved.
Comparison compare_reports(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b, double max_top1_drop,
                           double max_slowdown_pct);

}  // namespace bb
