#include "reports/vega_plots.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

// GCC 12 reports `"literal" + std::string` temporaries as overlapping memcpy
// (-Wrestrict false positive, GCC PR 105329).
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace bb::report_detail {
namespace {

// What every plot shares: size by padding (axes, titles and legends inside the
// view, never cut), fonts, the colours and shapes that name a model and a
// backend the same way in every plot.
J base_spec(int width, int height, const std::string& title, const std::string& subtitle) {
  J s = J::parse(R"({
    "padding": 8,
    "autosize": {"type": "pad"},
    "config": {
      "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal", "gridColor": "#eee"},
      "legend": {"labelFontSize": 11, "titleFontSize": 11, "labelLimit": 260},
      "title": {"fontSize": 14, "anchor": "start", "subtitleFontSize": 11, "subtitleColor": "#555", "offset": 10}
    }
  })");
  s["width"] = width;
  s["height"] = height;
  s["title"] = {{"text", title}};
  if (!subtitle.empty()) s["title"]["subtitle"] = subtitle;
  s["data"] = J::array();
  s["scales"] = J::array();
  s["axes"] = J::array();
  s["legends"] = J::array();
  s["marks"] = J::array();
  return s;
}

J model_names(const ReportRecord& r) {
  J names = J::array();
  std::set<std::string> seen;
  for (const ModelEntry& m : r.models)
    if (seen.insert(m.name).second) names.push_back(m.name);
  return names;
}

J backend_names(const ReportRecord& r) {
  J names = J::array();
  std::set<std::string> seen;
  for (const ModelEntry& m : r.models)
    if (seen.insert(m.backend).second) names.push_back(m.backend);
  return names;
}

J color_scale(const ReportRecord& r) {
  return {{"name", "color"}, {"type", "ordinal"}, {"domain", model_names(r)}, {"range", {{"scheme", "tableau10"}}}};
}

J shape_scale(const ReportRecord& r) {
  return {{"name", "shape"},
          {"type", "ordinal"},
          {"domain", backend_names(r)},
          {"range", {"circle", "square", "triangle-up", "diamond", "cross", "triangle-down"}}};
}

J axis(const std::string& orient, const std::string& scale, const std::string& title, bool grid) {
  return {{"orient", orient}, {"scale", scale}, {"title", title}, {"grid", grid}, {"labelOverlap", true}};
}

J xy(const std::string& xfield, const std::string& yfield) {
  return {{"x", {{"scale", "x"}, {"field", xfield}}}, {"y", {{"scale", "y"}, {"field", yfield}}}};
}

// The dashed staircase through a Pareto front (points in x order): nothing
// right of and below it beats a point on it.
J front_line(const std::string& data) {
  J enter = xy("x", "y");
  enter["stroke"] = {{"value", "#d62728"}};
  enter["strokeDash"] = {{"value", {6, 4}}};
  enter["strokeWidth"] = {{"value", 1.5}};
  enter["interpolate"] = {{"value", "step-after"}};
  return {{"type", "line"}, {"from", {{"data", data}}}, {"encode", {{"enter", enter}}}};
}

// Points coloured by model (and shaped by backend), ringed when on the front,
// with the tooltip their datum carries.
J point_marks(bool shaped) {
  J enter = xy("x", "y");
  enter["fill"] = {{"scale", "color"}, {"field", "model"}};
  if (shaped) enter["shape"] = {{"scale", "shape"}, {"field", "backend"}};
  enter["stroke"] = {{"signal", "datum.front ? '#111' : '#fff'"}};
  enter["strokeWidth"] = {{"signal", "datum.front ? 2 : 1"}};
  enter["tooltip"] = {{"signal", "datum.tip"}};
  return {{"type", "symbol"},
          {"from", {{"data", "points"}}},
          {"encode", {{"enter", enter}, {"update", {{"size", {{"value", 120}}}}}, {"hover", {{"size", {{"value", 260}}}}}}}};
}

std::string pct(double v) { return fmt(v, 2) + " %"; }

// Ticks of a log axis from lo to hi: 1, 2 and 5 times the powers of ten
// (1 and 10 alone when that gives more than eight).
J log_ticks(double lo, double hi) {
  J out = J::array();
  if (!(lo > 0) || !(hi > 0)) return out;
  for (const auto& steps : {std::vector<double>{1, 2, 5}, std::vector<double>{1}}) {
    out = J::array();
    for (int e = static_cast<int>(std::floor(std::log10(lo))) - 1; e <= static_cast<int>(std::ceil(std::log10(hi))); ++e)
      for (double m : steps) {
        const double v = m * std::pow(10.0, e);
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push_back(v);
      }
    if (out.size() <= 8) break;
  }
  return out;
}

// ---- top-1 against checkpoint size (one point per model: the backends of a
// model share its file and, up to rounding, its top-1)

// memory: the weights as each backend holds them (one point per model ×
// backend where they differ) instead of the checkpoint file.
Plot size_plot(const ReportRecord& r, bool memory = false) {
  struct P {
    std::string model, backends;
    double size_mb, top1;
  };
  std::vector<P> pts;
  for (const ModelEntry& m : r.models) {
    const double mb = static_cast<double>(memory ? m.weight_bytes.memory : m.size_bytes) / 1e6, top1 = m.accuracy.top1;
    auto it = std::find_if(pts.begin(), pts.end(), [&](const P& p) { return p.model == m.name && p.size_mb == mb && p.top1 == top1; });
    if (it != pts.end()) it->backends += ", " + m.backend;
    else pts.push_back({m.name, m.backend, mb, top1});
  }
  std::vector<std::pair<double, double>> xy_pts;
  for (const P& p : pts) xy_pts.push_back({p.size_mb, p.top1});
  const std::vector<size_t> front = pareto_front(xy_pts);
  J values = J::array(), front_values = J::array();
  for (size_t i = 0; i < pts.size(); ++i) {
    const bool on = std::find(front.begin(), front.end(), i) != front.end();
    values.push_back({{"model", pts[i].model},
                      {"x", pts[i].size_mb},
                      {"y", pts[i].top1},
                      {"front", on},
                      {"tip",
                       {{"model", pts[i].model},
                        {"backends", pts[i].backends},
                        {"size", fmt(pts[i].size_mb, 3) + " MB"},
                        {"top-1", pct(pts[i].top1)},
                        {"Pareto front", on ? "yes" : "no"}}}});
  }
  for (size_t i : front) front_values.push_back({{"x", pts[i].size_mb}, {"y", pts[i].top1}});
  J s = base_spec(400, 280, memory ? "Top-1 vs weights in memory" : "Top-1 vs model size",
                  "dashed: the Pareto front (nothing both smaller and at least as accurate); ringed: on it");
  s["data"] = {{{"name", "points"}, {"values", values}}, {{"name", "front"}, {"values", front_values}}};
  double lo = 1e300, hi = 0;
  for (const P& p : pts) {
    lo = std::min(lo, p.size_mb);
    hi = std::max(hi, p.size_mb);
  }
  lo /= 1.4;  // room around the outer points on the log scale
  hi *= 1.4;
  s["scales"] = {{{"name", "x"}, {"type", "log"}, {"domain", {lo, hi}}, {"range", "width"}, {"zero", false}, {"nice", false}},
                 {{"name", "y"}, {"type", "linear"}, {"domain", {{"data", "points"}, {"field", "y"}}}, {"range", "height"}, {"zero", false},
                  {"nice", true}, {"padding", 16}},
                 color_scale(r)};
  J ax = axis("bottom", "x", memory ? "weights as the backend holds them (MB, log scale)" : "checkpoint size (MB, log scale)", true);
  ax["values"] = log_ticks(lo, hi);
  ax["format"] = "~g";
  J ay = axis("left", "y", "top-1 (%)", true);
  ay["format"] = ".1f";
  s["axes"] = {ax, ay};
  s["legends"] = {{{"fill", "color"}, {"title", "model"}, {"orient", "right"}, {"symbolType", "circle"}}};
  s["marks"] = {front_line("front"), point_marks(false)};
  if (memory)
    return {"plot-memory", "Weights in memory: packed codes and scales on the bit kernels, int8 codes on oneDNN int8, fp32 "
                           "otherwise, with the tensors left in fp32. Hover a point for its figures.", s, values.size()};
  return {"plot-size", "Size: the checkpoint file (the PTQ baseline: its int8 weights in memory). Hover a point for its figures.", s, values.size()};
}

// ---- top-1 against latency at the headline point, one point per model ×
// backend, bars from the fastest timed call to the 90th percentile

Plot latency_plot(const ReportRecord& r, int batch, int threads, const std::string& id) {
  if (batch == 0) return {};
  const ModelEntry* t = teacher_of(r);
  const J* tl = t ? latency_at(*t, batch, threads) : nullptr;
  std::vector<const ModelEntry*> ms;
  std::vector<std::pair<double, double>> xy_pts;
  for (const ModelEntry& m : r.models)
    if (const J* l = latency_at(m, batch, threads)) {
      ms.push_back(&m);
      xy_pts.push_back({(*l)["p50_ms"].get<double>(), m.accuracy.top1});
    }
  const std::vector<size_t> front = pareto_front(xy_pts);
  J values = J::array(), front_values = J::array();
  for (size_t i = 0; i < ms.size(); ++i) {
    const ModelEntry& m = *ms[i];
    const J& l = *latency_at(m, batch, threads);
    const bool on = std::find(front.begin(), front.end(), i) != front.end();
    const double p50 = l["p50_ms"].get<double>();
    const double lo = l.contains("min_ms") ? l["min_ms"].get<double>() : p50, hi = l["p90_ms"].get<double>();
    values.push_back({{"model", m.name},
                      {"backend", m.backend},
                      {"x", p50},
                      {"lo", lo},
                      {"hi", hi},
                      {"y", m.accuracy.top1},
                      {"front", on},
                      {"tip",
                       {{"model", model_label(m)},
                        {"top-1", pct(m.accuracy.top1)},
                        {"p50", fmt(p50, 3) + " ms"},
                        {"fastest – p90", fmt(lo, 3) + " – " + fmt(hi, 3) + " ms"},
                        {"speed-up vs fp32", m.role == "teacher" ? "reference" : speedup_cell(&l, tl)},
                        {"Pareto front", on ? "yes" : "no"}}}});
  }
  for (size_t i : front) front_values.push_back({{"x", xy_pts[i].first}, {"y", xy_pts[i].second}});
  J s = base_spec(400, 280,
                  "Top-1 vs latency (batch " + std::to_string(batch) + ", " + std::to_string(threads) +
                      (threads == 1 ? " thread)" : " threads)"),
                  "point: p50; bar: fastest call to p90; dashed: the Pareto front; ringed: on it");
  s["data"] = {{{"name", "points"}, {"values", values}}, {{"name", "front"}, {"values", front_values}}};
  s["scales"] = {{{"name", "x"}, {"type", "linear"}, {"domain", {{"data", "points"}, {"fields", {"lo", "hi"}}}}, {"range", "width"},
                  {"zero", false}, {"nice", true}, {"padding", 12}},
                 {{"name", "y"}, {"type", "linear"}, {"domain", {{"data", "points"}, {"field", "y"}}}, {"range", "height"}, {"zero", false},
                  {"nice", true}, {"padding", 16}},
                 color_scale(r), shape_scale(r)};
  J ay = axis("left", "y", "top-1 (%)", true);
  ay["format"] = ".1f";
  J ax = axis("bottom", "x", "latency per batch (ms)", true);
  ax["tickCount"] = 6;
  s["axes"] = {ax, ay};
  s["legends"] = {{{"fill", "color"}, {"title", "model"}, {"orient", "right"}, {"symbolType", "circle"}},
                  {{"shape", "shape"}, {"title", "backend"}, {"orient", "right"}}};
  J bar = {{"x", {{"scale", "x"}, {"field", "lo"}}},
           {"x2", {{"scale", "x"}, {"field", "hi"}}},
           {"y", {{"scale", "y"}, {"field", "y"}}},
           {"stroke", {{"scale", "color"}, {"field", "model"}}},
           {"strokeWidth", {{"value", 2}}},
           {"strokeOpacity", {{"value", 0.55}}}};
  J marks = {front_line("front"), {{"type", "rule"}, {"from", {{"data", "points"}}}, {"encode", {{"enter", bar}}}}};
  for (const char* end : {"lo", "hi"}) {  // the bars' caps
    J cap = {{"x", {{"scale", "x"}, {"field", end}}},
             {"y", {{"scale", "y"}, {"field", "y"}, {"offset", -4}}},
             {"y2", {{"scale", "y"}, {"field", "y"}, {"offset", 4}}},
             {"stroke", {{"scale", "color"}, {"field", "model"}}},
             {"strokeWidth", {{"value", 1.5}}}};
    marks.push_back({{"type", "rule"}, {"from", {{"data", "points"}}}, {"encode", {{"enter", cap}}}});
  }
  marks.push_back(point_marks(true));
  s["marks"] = marks;
  if (ms.empty()) return {};
  return {id, "Each model on each backend; the teacher is the fp32 model on oneDNN. Hover a point for its figures.", s, values.size()};
}

// ---- every speed-up over the teacher with its 95 % bootstrap interval

Plot speedup_plot(const ReportRecord& r) {
  J values = J::array(), rows = J::array(), points = J::array();
  std::set<std::string> seen_points;
  double lo_all = 1, hi_all = 1;
  for (const ModelEntry& m : r.models) {
    if (m.role == "teacher") continue;
    bool any = false;
    for (const auto& l : latency_points(m)) {
      if (!l.contains("speedup_vs_teacher")) continue;
      const J& sp = l["speedup_vs_teacher"];
      const int b = l["batch"].get<int>(), th = l["threads"].get<int>();
      const std::string point = "batch " + std::to_string(b) + ", " + std::to_string(th) + (th == 1 ? " thread" : " threads");
      if (seen_points.insert(point).second) points.push_back(point);
      const double lo = sp["ci95"][0].get<double>(), hi = sp["ci95"][1].get<double>();
      lo_all = std::min(lo_all, lo);
      hi_all = std::max(hi_all, hi);
      const std::string marks = speedup_marks(l);
      values.push_back({{"row", model_label(m)},
                        {"point", point},
                        {"median", sp["median"]},
                        {"lo", lo},
                        {"hi", hi},
                        {"significant", sp["significant"]},
                        {"tip",
                         {{"model", model_label(m)},
                          {"point", point},
                          {"speed-up", fmt(sp["median"].get<double>(), 2) + "× [" + fmt(lo, 2) + "–" + fmt(hi, 2) + "]"},
                          {"marks", marks.empty() ? "–" : marks}}}});
      any = true;
    }
    if (any) rows.push_back(model_label(m));
  }
  if (values.empty()) return {};
  const int row_h = 10 * static_cast<int>(points.size()) + 12;
  J s = base_spec(400, row_h * static_cast<int>(rows.size()), "Speed-up over the fp32 teacher, every measured point",
                  "dot: median of the interleaved rounds; bar: 95 % bootstrap interval; hollow: not significant");
  s["data"] = {{{"name", "points"}, {"values", values}}};
  lo_all /= 1.15;  // ratios on a log scale: 0.5× and 2× equally far from 1×
  hi_all *= 1.15;
  s["scales"] = {{{"name", "x"}, {"type", "log"}, {"domain", {lo_all, hi_all}}, {"range", "width"}, {"zero", false}, {"nice", false}},
                 {{"name", "y"}, {"type", "band"}, {"domain", rows}, {"range", "height"}, {"paddingInner", 0.15}, {"paddingOuter", 0.05}},
                 {{"name", "pt"}, {"type", "band"}, {"domain", points}, {"range", {0, {{"signal", "bandwidth('y')"}}}}, {"padding", 0.1}},
                 {{"name", "pcolor"}, {"type", "ordinal"}, {"domain", points}, {"range", {{"scheme", "dark2"}}}}};
  J ax = axis("bottom", "x", "teacher's time / model's time (×, log scale)", true);
  J ticks = log_ticks(lo_all, hi_all);
  if (ticks.size() < 3) ticks = {0.8, 0.9, 1.0, 1.1, 1.25, 1.5};
  J inside = J::array();
  for (const auto& v : ticks)
    if (v.get<double>() >= lo_all && v.get<double>() <= hi_all) inside.push_back(v);
  ax["values"] = inside;
  ax["format"] = "~g";
  J ay = axis("left", "y", "", false);
  ay.erase("title");
  ay["labelLimit"] = 300;
  s["axes"] = {ax, ay};
  s["legends"] = {{{"stroke", "pcolor"}, {"fill", "pcolor"}, {"title", "point"}, {"orient", "right"}, {"symbolType", "circle"}}};
  const std::string y = "scale('y', datum.row) + scale('pt', datum.point) + bandwidth('pt') / 2";
  J one = {{"x", {{"scale", "x"}, {"value", 1}}}, {"y", {{"value", 0}}}, {"y2", {{"signal", "height"}}},
           {"stroke", {{"value", "#888"}}}, {"strokeDash", {{"value", {4, 3}}}}};
  J bar = {{"x", {{"scale", "x"}, {"field", "lo"}}}, {"x2", {{"scale", "x"}, {"field", "hi"}}}, {"y", {{"signal", y}}},
           {"stroke", {{"scale", "pcolor"}, {"field", "point"}}}, {"strokeWidth", {{"value", 2}}}};
  J dot = {{"x", {{"scale", "x"}, {"field", "median"}}},
           {"y", {{"signal", y}}},
           {"size", {{"value", 50}}},
           {"stroke", {{"scale", "pcolor"}, {"field", "point"}}},
           {"strokeWidth", {{"value", 1.5}}},
           {"fill", {{"signal", "datum.significant ? scale('pcolor', datum.point) : '#fff'"}}},
           {"tooltip", {{"signal", "datum.tip"}}}};
  s["marks"] = {{{"type", "rule"}, {"encode", {{"enter", one}}}},
                {{"type", "rule"}, {"from", {{"data", "points"}}}, {"encode", {{"enter", bar}}}},
                {{"type", "symbol"}, {"from", {{"data", "points"}}}, {"encode", {{"enter", dot}}}}};
  return {"plot-speedup", "Dashed line: the teacher's speed (1.0×); right of it, faster than the teacher.", s, values.size()};
}

// ---- held-out top-1 per epoch: the teacher's training, or the students'
// distillation (their own plot: a few epochs against the teacher's many)

Plot curves_plot(const ReportRecord& r, bool teacher) {
  J values = J::array(), drawn = J::array();
  std::set<std::string> seen;
  int max_epoch = 1, min_epoch = 1 << 30;
  for (const ModelEntry& m : r.models) {
    const std::string& name = m.name;
    if ((m.role == "teacher") != teacher) continue;
    if (!m.history || !m.history->is_array() || m.history->empty() || seen.count(name)) continue;
    bool any = false;
    for (const auto& e : *m.history)
      if (e.is_object() && e.contains("epoch") && e.contains("eval_top1") && e["epoch"].is_number() && e["eval_top1"].is_number()) {
        const int ep = static_cast<int>(std::lround(e["epoch"].get<double>()));
        max_epoch = std::max(max_epoch, ep);
        min_epoch = std::min(min_epoch, ep);
        values.push_back({{"model", name},
                          {"x", ep},
                          {"y", e["eval_top1"]},
                          {"tip", {{"model", name}, {"epoch", std::to_string(ep)}, {"held-out top-1", pct(e["eval_top1"].get<double>())}}}});
        any = true;
      }
    if (any) {
      seen.insert(name);
      drawn.push_back(name);
    }
  }
  if (values.empty()) return {};
  J s = base_spec(400, 260, teacher ? "Teacher training" : "Students' distillation",
                  "held-out top-1 after each epoch" + std::string(teacher ? "" : " (each student from the teacher's weights)"));
  s["data"] = {{{"name", "points"}, {"values", values}}};
  s["scales"] = {{{"name", "x"}, {"type", "linear"}, {"domain", {min_epoch, std::max(max_epoch, min_epoch + 1)}}, {"range", "width"},
                  {"zero", false}, {"nice", false}, {"padding", 10}},
                 {{"name", "y"}, {"type", "linear"}, {"domain", {{"data", "points"}, {"field", "y"}}}, {"range", "height"}, {"zero", false},
                  {"nice", true}},
                 color_scale(r)};
  J ax = axis("bottom", "x", "epoch", true);
  ax["tickMinStep"] = 1;  // whole epochs only
  ax["format"] = "d";
  J ay = axis("left", "y", "held-out top-1 (%)", true);
  ay["format"] = ".1f";
  s["axes"] = {ax, ay};
  s["legends"] = {{{"stroke", "color"}, {"title", "model"}, {"orient", "right"}, {"symbolType", "stroke"}, {"values", drawn}}};
  J line = xy("x", "y");
  line["stroke"] = {{"scale", "color"}, {"field", "model"}};
  line["strokeWidth"] = {{"value", 2}};
  J dot = xy("x", "y");
  dot["fill"] = {{"scale", "color"}, {"field", "model"}};
  dot["size"] = {{"value", 30}};
  dot["tooltip"] = {{"signal", "datum.tip"}};
  s["marks"] = {{{"type", "group"},
                 {"from", {{"facet", {{"name", "series"}, {"data", "points"}, {"groupby", "model"}}}}},
                 {"marks",
                  {{{"type", "line"}, {"from", {{"data", "series"}}}, {"encode", {{"enter", line}}}},
                   {{"type", "symbol"}, {"from", {{"data", "series"}}}, {"encode", {{"enter", dot}}}}}}}};
  return {teacher ? "plot-teacher-curve" : "plot-student-curves",
          teacher ? "The teacher's training run (a shipped checkpoint carries it in its metadata). Hover a point for its figures."
                  : "Each student's distillation run. Hover a point for its figures.",
          s, values.size()};
}

// ---- the best student's confusion matrix

Plot confusion_plot(const ReportRecord& r) {
  const ModelEntry* best = nullptr;
  for (const ModelEntry& m : r.models)
    if (m.role == "student" && (!best || m.accuracy.top1 > best->accuracy.top1)) best = &m;
  if (!best) return {};
  const std::vector<std::vector<int64_t>>& confusion = best->accuracy.confusion;
  const size_t K = confusion.size();
  // A short row (a damaged report) reads as zeros.
  const auto conf = [&](size_t i, size_t j) { return j < confusion[i].size() ? static_cast<double>(confusion[i][j]) : 0.0; };
  if (K == 0) return {};
  const std::vector<std::string> names = class_names(r, K);
  // With many classes, the 40 with the most errors (as true or as predicted class).
  constexpr size_t kMaxClasses = 40;
  std::vector<size_t> shown(K);
  for (size_t i = 0; i < K; ++i) shown[i] = i;
  if (K > kMaxClasses) {
    std::vector<double> errors(K, 0);
    for (size_t i = 0; i < K; ++i)
      for (size_t j = 0; j < K; ++j)
        if (i != j) {
          errors[i] += conf(i, j);
          errors[j] += conf(i, j);
        }
    std::stable_sort(shown.begin(), shown.end(), [&](size_t a, size_t b) { return errors[a] > errors[b]; });
    shown.resize(kMaxClasses);
    std::sort(shown.begin(), shown.end());
  }
  J values = J::array(), domain = J::array();
  for (size_t i : shown) domain.push_back(names[i]);
  for (size_t i : shown) {
    double row = 0;
    for (const int64_t v : confusion[i]) row += static_cast<double>(v);
    for (size_t j : shown) {
      const double v = conf(i, j), f = row > 0 ? v / row : 0;
      values.push_back({{"t", names[i]},
                        {"p", names[j]},
                        {"n", static_cast<int64_t>(v)},
                        {"f", f},
                        {"tip",
                         {{"true class", names[i]},
                          {"predicted", names[j]},
                          {"images", std::to_string(static_cast<int64_t>(v))},
                          {"share of the true class", fmt(100 * f, 1) + " %"}}}});
    }
  }
  const int cell = shown.size() <= 12 ? 36 : shown.size() <= 20 ? 24 : 12;
  const int side = cell * static_cast<int>(shown.size());
  J s = base_spec(side, side, "Confusion matrix: " + model_label(*best),
                  K > kMaxClasses ? "the best student by top-1; the " + std::to_string(kMaxClasses) + " of " + std::to_string(K) +
                                        " classes with the most errors"
                                  : "the best student by top-1; colour: share of the true class (square-root scale)");
  s["data"] = {{{"name", "cells"}, {"values", values}}};
  s["scales"] = {{{"name", "x"}, {"type", "band"}, {"domain", domain}, {"range", "width"}},
                 {{"name", "y"}, {"type", "band"}, {"domain", domain}, {"range", "height"}},
                 {{"name", "shade"}, {"type", "sqrt"}, {"domain", {0, 1}}, {"range", {{"scheme", "blues"}}}}};
  J ax = axis("bottom", "x", "predicted class", false);
  ax["labelOverlap"] = false;  // every class named (rotated labels' boxes overlap, their text does not)
  ax["labelAngle"] = -40;
  ax["labelAlign"] = "right";
  ax["labelBaseline"] = "top";
  ax["labelLimit"] = 160;
  J ay = axis("left", "y", "true class", false);
  ay["labelLimit"] = 160;
  ay["labelOverlap"] = false;
  if (cell < 24) {  // narrow cells: vertical, smaller labels, each still named
    ax["labelAngle"] = -90;
    ax["labelBaseline"] = "middle";
    ax["labelFontSize"] = 9;
    ay["labelFontSize"] = 9;
  }
  s["axes"] = {ax, ay};
  s["legends"] = {{{"fill", "shade"}, {"title", "share of true class"}, {"orient", "right"}, {"format", ".0%"}, {"gradientLength", 160}}};
  J rect = {{"x", {{"scale", "x"}, {"field", "p"}}},
            {"width", {{"scale", "x"}, {"band", 1}}},
            {"y", {{"scale", "y"}, {"field", "t"}}},
            {"height", {{"scale", "y"}, {"band", 1}}},
            {"fill", {{"signal", "datum.n > 0 ? scale('shade', datum.f) : '#fff'"}}},
            {"stroke", {{"value", "#ddd"}}},
            {"strokeWidth", {{"value", 0.5}}},
            {"tooltip", {{"signal", "datum.tip"}}}};
  J marks = {{{"type", "rect"}, {"from", {{"data", "cells"}}}, {"encode", {{"enter", rect}}}}};
  if (cell >= 24) {  // the counts, where a cell has room for them
    J text = {{"x", {{"scale", "x"}, {"field", "p"}, {"band", 0.5}}},
              {"y", {{"scale", "y"}, {"field", "t"}, {"band", 0.5}}},
              {"text", {{"signal", "datum.n > 0 ? datum.n : ''"}}},
              {"align", {{"value", "center"}}},
              {"baseline", {{"value", "middle"}}},
              {"fontSize", {{"value", cell >= 36 ? 10 : 8}}},
              {"fill", {{"signal", "datum.f > 0.5 ? '#fff' : '#222'"}}}};
    marks.push_back({{"type", "text"}, {"from", {{"data", "cells"}}}, {"interactive", false}, {"encode", {{"enter", text}}}});
  }
  s["marks"] = marks;
  return {"plot-confusion",
          cell >= 24 ? "Rows: the true class; columns: the class predicted; the number in a cell: images. Hover a cell for its share."
                     : "Rows: the true class; columns: the class predicted. Hover a cell for its images and share.",
          s, values.size()};
}

// ---- a searched student's sensitivity per block Linear and rung, as a heat map

Plot sensitivity_plot(const ModelEntry& m) {
  const J& sr = *m.search;
  const std::vector<std::string> rungs = sr["rungs"].get<std::vector<std::string>>();
  const bool kl = sr["measure"] == "kl";
  J values = J::array(), layers = J::array(), cols = J::array();
  for (size_t k = 1; k < rungs.size(); ++k) cols.push_back(rungs[k]);
  for (const J& l : sr["layers"]) {
    const std::string name = l["name"].get<std::string>();
    layers.push_back(name);
    for (size_t k = 1; k < rungs.size(); ++k) {
      const double d = l["delta"][k].get<double>();
      const bool chosen = l["chosen"] == rungs[k];
      values.push_back({{"layer", name},
                        {"rung", rungs[k]},
                        {"d", std::max(0.0, d)},
                        {"chosen", chosen},
                        {"tip",
                         {{"layer", name},
                          {"stepped to", rungs[k]},
                          {kl ? "KL added" : "top-1 points lost", fmt(d, 4)},
                          {"chosen", l["chosen"].get<std::string>()}}}});
    }
  }
  const int cell_w = 90, cell_h = 16;
  J s = base_spec(cell_w * static_cast<int>(cols.size()), cell_h * static_cast<int>(layers.size()),
                  "Sensitivity of " + m.name,
                  std::string(kl ? "KL to the teacher added" : "top-1 points lost") +
                      " with only that layer at the rung (from " + rungs[0] + "); outlined: the rung the search chose");
  s["data"] = {{{"name", "cells"}, {"values", values}}};
  s["scales"] = {{{"name", "x"}, {"type", "band"}, {"domain", cols}, {"range", "width"}},
                 {{"name", "y"}, {"type", "band"}, {"domain", layers}, {"range", "height"}},
                 {{"name", "shade"}, {"type", "sqrt"}, {"domain", {{"data", "cells"}, {"field", "d"}}}, {"range", {{"scheme", "orangered"}}}}};
  J ax = axis("top", "x", "rung", false);
  J ay = axis("left", "y", "block Linear", false);
  ay["labelOverlap"] = false;
  ay["labelFontSize"] = 9;
  s["axes"] = {ax, ay};
  s["legends"] = {{{"fill", "shade"}, {"title", kl ? "KL added" : "points lost"}, {"orient", "right"}, {"gradientLength", 160}}};
  J rect = {{"x", {{"scale", "x"}, {"field", "rung"}}},
            {"width", {{"scale", "x"}, {"band", 1}}},
            {"y", {{"scale", "y"}, {"field", "layer"}}},
            {"height", {{"scale", "y"}, {"band", 1}}},
            {"fill", {{"scale", "shade"}, {"field", "d"}}},
            {"stroke", {{"signal", "datum.chosen ? '#000' : '#ddd'"}}},
            {"strokeWidth", {{"signal", "datum.chosen ? 2 : 0.5"}}},
            {"tooltip", {{"signal", "datum.tip"}}}};
  s["marks"] = {{{"type", "rect"}, {"from", {{"data", "cells"}}}, {"encode", {{"enter", rect}}}}};
  return {"plot-sensitivity-" + m.name,
          "Each cell: one block Linear stepped alone to that rung, measured on calibration images of the training split. "
          "A layer with no outlined cell stayed at " + rungs[0] + ". Hover a cell for its figure.",
          s, values.size()};
}

}  // namespace

std::vector<Plot> report_plots(const ReportRecord& r) {
  std::vector<Plot> out;
  const Headline h = headline(r);
  for (Plot p : {size_plot(r), size_plot(r, true), latency_plot(r, h.b_lo, h.t_lo, "plot-latency"),
                 h.b_hi != h.b_lo || h.t_hi != h.t_lo ? latency_plot(r, h.b_hi, h.t_hi, "plot-latency-b" + std::to_string(h.b_hi))
                                                      : Plot{},
                 speedup_plot(r),
                 curves_plot(r, true), curves_plot(r, false), confusion_plot(r)})
    if (!p.id.empty()) out.push_back(std::move(p));
  std::set<std::string> searched;  // one heat map per searched student
  for (const ModelEntry& m : r.models)
    if (m.search && searched.insert(m.name).second) out.push_back(sensitivity_plot(m));
  return out;
}

}  // namespace bb::report_detail
