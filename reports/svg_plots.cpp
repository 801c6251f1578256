#include "reports/svg_plots.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "reports/text_format.hpp"

// GCC 12 reports `"literal" + std::string` temporaries as overlapping memcpy
// (-Wrestrict false positive, GCC PR 105329).
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace bb {
namespace {

struct Axis {
  double lo, hi;
  bool log;
  double map(double v, double a, double b) const {
    const double u = log ? std::log10(v) : v;
    return hi > lo ? a + (u - lo) / (hi - lo) * (b - a) : (a + b) / 2;
  }
};

Axis axis_for(std::vector<double> v, bool log) {
  if (log)
    for (double& x : v) x = std::log10(std::max(x, 1e-12));
  if (v.empty()) return {0, 1, log};
  double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  const double pad = hi > lo ? 0.08 * (hi - lo) : (log ? 0.5 : std::max(1.0, std::fabs(lo) * 0.05));
  return {lo - pad, hi + pad, log};
}

constexpr int kW = 560, kH = 360, kL = 64, kR = 20, kT = 34, kB = 50;

std::string svg_frame(const std::string& title, const std::string& xl, const std::string& yl, const Axis& ax, const Axis& ay) {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH << "\" viewBox=\"0 0 " << kW << " " << kH
    << "\" role=\"img\"><title>" << html_escape(title) << "</title>";
  s << "<text x=\"" << kW / 2 << "\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">" << html_escape(title) << "</text>";
  s << "<rect x=\"" << kL << "\" y=\"" << kT << "\" width=\"" << kW - kL - kR << "\" height=\"" << kH - kT - kB
    << "\" fill=\"none\" stroke=\"#888\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double u = ax.lo + (ax.hi - ax.lo) * i / 4, px = kL + (kW - kL - kR) * i / 4.0;
    const double v = ax.log ? std::pow(10, u) : u;
    s << "<line x1=\"" << px << "\" y1=\"" << kH - kB << "\" x2=\"" << px << "\" y2=\"" << kH - kB + 5 << "\" stroke=\"#888\"/>";
    s << "<text x=\"" << px << "\" y=\"" << kH - kB + 18 << "\" text-anchor=\"middle\" font-size=\"11\">" << fmt(v, v < 10 ? 2 : 0) << "</text>";
    const double w = ay.lo + (ay.hi - ay.lo) * i / 4, py = kH - kB - (kH - kT - kB) * i / 4.0;
    s << "<line x1=\"" << kL - 5 << "\" y1=\"" << py << "\" x2=\"" << kL << "\" y2=\"" << py << "\" stroke=\"#888\"/>";
    s << "<text x=\"" << kL - 8 << "\" y=\"" << py + 4 << "\" text-anchor=\"end\" font-size=\"11\">" << fmt(w, 1) << "</text>";
  }
  s << "<text x=\"" << (kL + kW - kR) / 2 << "\" y=\"" << kH - 10 << "\" text-anchor=\"middle\" font-size=\"12\">" << html_escape(xl) << "</text>";
  s << "<text x=\"14\" y=\"" << (kT + kH - kB) / 2 << "\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 14 "
    << (kT + kH - kB) / 2 << ")\">" << html_escape(yl) << "</text>";
  return s.str();
}

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

}  // namespace

// Scatter with labels; front (indices into pts, in x order) drawn as a dashed line.
std::string scatter_svg(const std::string& title, const std::string& xl, const std::string& yl, const std::vector<Pt>& pts,
                        bool logx, const std::vector<size_t>& front) {
  std::vector<double> xs, ys;
  for (const auto& p : pts) {
    xs.push_back(p.x);
    ys.push_back(p.y);
  }
  const Axis ax = axis_for(xs, logx), ay = axis_for(ys, false);
  std::ostringstream s;
  s << svg_frame(title, xl, yl, ax, ay);
  auto X = [&](double v) { return ax.map(v, kL, kW - kR); };
  auto Y = [&](double v) { return ay.map(v, kH - kB, kT); };
  if (front.size() > 1) {
    s << "<polyline fill=\"none\" stroke=\"#d62728\" stroke-dasharray=\"5,4\" points=\"";
    for (size_t i : front) s << X(pts[i].x) << "," << Y(pts[i].y) << " ";
    s << "\"><title>Pareto front</title></polyline>";
  }
  for (size_t i = 0; i < pts.size(); ++i) {
    const bool on_front = std::find(front.begin(), front.end(), i) != front.end();
    s << "<circle cx=\"" << X(pts[i].x) << "\" cy=\"" << Y(pts[i].y) << "\" r=\"" << (on_front ? 6 : 4) << "\" fill=\""
      << kColors[i % 8] << "\"><title>" << html_escape(pts[i].label) << "</title></circle>";
    s << "<text x=\"" << X(pts[i].x) + 7 << "\" y=\"" << Y(pts[i].y) - 6 << "\" font-size=\"10\">" << html_escape(pts[i].label) << "</text>";
  }
  s << "</svg>";
  return s.str();
}

// Points not beaten by another that is both faster (lower x) and at least as accurate, in x order.
std::vector<size_t> pareto_front(const std::vector<Pt>& pts) {
  std::vector<size_t> idx(pts.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return pts[a].x < pts[b].x || (pts[a].x == pts[b].x && pts[a].y > pts[b].y); });
  std::vector<size_t> f;
  double best = -1e300;
  for (size_t i : idx)
    if (pts[i].y > best) {
      f.push_back(i);
      best = pts[i].y;
    }
  return f;
}

std::string lines_svg(const std::string& title, const std::string& xl, const std::string& yl, const std::vector<Series>& ss) {
  std::vector<double> xs, ys;
  for (const auto& s : ss)
    for (auto [x, y] : s.xy) {
      xs.push_back(x);
      ys.push_back(y);
    }
  const Axis ax = axis_for(xs, false), ay = axis_for(ys, false);
  std::ostringstream o;
  o << svg_frame(title, xl, yl, ax, ay);
  for (size_t k = 0; k < ss.size(); ++k) {
    o << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << kColors[k % 8] << "\" points=\"";
    for (auto [x, y] : ss[k].xy) o << ax.map(x, kL, kW - kR) << "," << ay.map(y, kH - kB, kT) << " ";
    o << "\"><title>" << html_escape(ss[k].name) << "</title></polyline>";
    o << "<text x=\"" << kL + 8 << "\" y=\"" << kT + 14 + 14 * static_cast<int>(k) << "\" font-size=\"11\" fill=\"" << kColors[k % 8]
      << "\">" << html_escape(ss[k].name) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

std::string heatmap_svg(const std::string& title, const nlohmann::ordered_json& confusion, const std::vector<std::string>& names) {
  const size_t K = confusion.size();
  const int cell = K <= 12 ? 30 : std::max(4, 360 / static_cast<int>(K)), left = 110, top = 40;
  const int w = left + cell * static_cast<int>(K) + 20, h = top + cell * static_cast<int>(K) + 60;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" role=\"img\"><title>" << html_escape(title)
    << "</title><text x=\"" << w / 2 << "\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">" << html_escape(title) << "</text>";
  for (size_t i = 0; i < K; ++i) {
    double row = 0;
    for (const auto& v : confusion[i]) row += v.get<double>();
    for (size_t j = 0; j < K; ++j) {
      const double v = confusion[i][j].get<double>(), f = row > 0 ? v / row : 0;
      const int shade = static_cast<int>(255 * (1 - f));
      s << "<rect x=\"" << left + cell * static_cast<int>(j) << "\" y=\"" << top + cell * static_cast<int>(i) << "\" width=\"" << cell
        << "\" height=\"" << cell << "\" fill=\"rgb(" << shade << "," << shade << ",255)\"><title>true "
        << html_escape(i < names.size() ? names[i] : std::to_string(i)) << ", predicted "
        << html_escape(j < names.size() ? names[j] : std::to_string(j)) << ": " << static_cast<int64_t>(v) << "</title></rect>";
    }
    if (K <= 30)
      s << "<text x=\"" << left - 4 << "\" y=\"" << top + cell * static_cast<int>(i) + cell / 2 + 4 << "\" text-anchor=\"end\" font-size=\"10\">"
        << html_escape(i < names.size() ? names[i] : std::to_string(i)) << "</text>";
  }
  s << "<text x=\"" << left + cell * static_cast<int>(K) / 2 << "\" y=\"" << h - 20
    << "\" text-anchor=\"middle\" font-size=\"12\">predicted class (rows: true class, shade: row fraction)</text></svg>";
  return s.str();
}

}  // namespace bb
