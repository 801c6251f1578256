#pragma once
// The report's plots as inline SVG (no scripts, no network): labelled scatter
// with a Pareto front, line series, a confusion heat map.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bb {

struct Pt {
  double x, y;
  std::string label;
};

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> xy;
};

// Scatter with labels; front (indices into pts, in x order) drawn as a dashed line.
std::string scatter_svg(const std::string& title, const std::string& xl, const std::string& yl, const std::vector<Pt>& pts,
                        bool logx, const std::vector<size_t>& front);
// Points not beaten by another that is both faster (lower x) and at least as accurate, in x order.
std::vector<size_t> pareto_front(const std::vector<Pt>& pts);
std::string lines_svg(const std::string& title, const std::string& xl, const std::string& yl, const std::vector<Series>& ss);
// confusion [K][K] counts; names label the rows.
std::string heatmap_svg(const std::string& title, const nlohmann::ordered_json& confusion, const std::vector<std::string>& names);

}  // namespace bb
