#include "reports/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/json_reader.hpp"
#include "reports/svg_plots.hpp"
#include "reports/text_format.hpp"

// GCC 12 reports `"literal" + std::string` temporaries as overlapping memcpy
// (-Wrestrict false positive, GCC PR 105329).
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace bb {
namespace {

using J = nlohmann::ordered_json;

std::string num(const J& v, int prec) { return v.is_number() ? fmt(v.get<double>(), prec) : "–"; }

// ---- the headline points every table and plot uses

struct Headline {
  int b_lo = 0, t_lo = 0, b_hi = 0, t_hi = 0;  // latency at (b_lo, t_lo); throughput at (b_hi, t_hi)
};

Headline headline(const J& r) {
  Headline h;
  std::set<int> batches, threads;
  for (const auto& m : r["models"])
    for (const auto& l : m["latency"]) {
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

const J* latency_at(const J& m, int batch, int threads) {
  for (const auto& l : m["latency"])
    if (l["batch"].get<int>() == batch && l["threads"].get<int>() == threads) return &l;
  return nullptr;
}

const J* teacher_of(const J& r) {
  for (const auto& m : r["models"])
    if (m["role"] == "teacher") return &m;
  return nullptr;
}

// The speed-up over the teacher at one point: the median of interleaved
// rounds with its 95 % interval and marks (an older report without rounds:
// the ratio of the p50s).
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

// Lines under the headline table about how the latency was measured: the
// protocol, a busy machine, figures reused from an earlier measurement.
std::vector<std::string> latency_notes(const J& r) {
  std::vector<std::string> out;
  if (!r.contains("latency_protocol") || !r["latency_protocol"].is_object()) return out;
  const J& p = r["latency_protocol"];
  out.push_back("Latency: " + p["rounds"].dump() + " interleaved rounds per point, " +
                fmt(p["min_seconds_per_model"].get<double>(), 2) + " s per model per point, " +
                fmt(p["seconds"].get<double>(), 1) + " s in all; speed-up = median of the per-round ratios [95 % bootstrap "
                "interval]; \"not significant\": the interval holds 1.0; \"noisy\": the teacher's own round-to-round "
                "spread exceeded 10 % at that point.");
  const J& mc = p["machine"];
  if (mc.value("busy", false))
    out.push_back("Warning: the machine was busy while timing (other processes took " +
                  fmt(mc["other_cpu_cores"].get<double>(), 2) + " cores on average; load " +
                  fmt(mc["load_before"].get<double>(), 2) + " → " + fmt(mc["load_after"].get<double>(), 2) +
                  "): speed figures are less trustworthy.");
  if (p.value("reused", false))
    out.push_back("Latency measured " + p.value("measured_utc", std::string("earlier")) +
                  ", reused (the same models, protocol, CPU, ISA, kernel paths, threads and bitbench revision).");
  return out;
}

struct Row {
  std::string model, precision, backend, bits, size_mb, top1, top5, delta, agreement, latency, ips, speedup;
};

std::vector<Row> result_rows(const J& r) {
  const Headline h = headline(r);
  const J* t = teacher_of(r);
  const J* tl = t ? latency_at(*t, h.b_lo, h.t_lo) : nullptr;
  std::vector<Row> rows;
  for (const auto& m : r["models"]) {
    Row w;
    w.model = m["name"].get<std::string>();
    w.precision = m["precision"].get<std::string>();
    w.backend = m["backend"].get<std::string>();
    // The bits each quantised weight takes as the backend holds it (packed
    // layout, or int8 plus scales), the nominal format's beside it.
    const J& bpw = m["bits_per_weight"];
    w.bits = m["quantized_params"].get<int64_t>() > 0
                 ? num(bpw.value("quantized_layers_memory", bpw["nominal"]), 2) + " (" + num(bpw["nominal"], 2) + ")"
                 : num(bpw["nominal"], 2);
    w.size_mb = fmt(m["size_bytes"].get<double>() / 1e6, 3);
    w.top1 = num(m["accuracy"]["top1"], 2);
    w.top5 = num(m["accuracy"]["top5"], 2);
    w.delta = t ? fmt(m["accuracy"]["top1"].get<double>() - (*t)["accuracy"]["top1"].get<double>(), 2) : "–";
    if (m["role"] == "teacher") w.delta = "–";
    w.agreement = m.contains("fidelity") ? fmt(m["fidelity"]["agreement"].get<double>(), 2) : "–";
    const J* l = latency_at(m, h.b_lo, h.t_lo);
    const J* hi = latency_at(m, h.b_hi, h.t_hi);
    w.latency = l ? num((*l)["p50_ms"], 3) : "–";
    w.ips = hi ? num((*hi)["images_per_s"], 1) : "–";
    w.speedup = m["role"] == "teacher" ? (l ? "1.00× (reference)" : "–") : speedup_cell(l, tl);
    rows.push_back(w);
  }
  return rows;
}

std::string human_bytes(double b) {
  if (b >= 1e9) return fmt(b / 1e9, 2) + " GB";
  if (b >= 1e6) return fmt(b / 1e6, 2) + " MB";
  if (b >= 1e3) return fmt(b / 1e3, 1) + " kB";
  return fmt(b, 0) + " B";
}

// ---- shared text blocks

std::vector<std::pair<std::string, std::string>> environment_lines(const J& r) {
  const J& e = r["environment"];
  std::vector<std::pair<std::string, std::string>> out;
  auto str = [&](const char* k) { return e.contains(k) ? (e[k].is_string() ? e[k].get<std::string>() : e[k].dump()) : std::string("–"); };
  out.push_back({"CPU", str("cpu") + " (" + str("cpu_flags") + ")"});
  out.push_back({"Cores / threads", str("cores") + " / " + str("threads")});
  out.push_back({"OS", str("os") + ", " + str("kernel")});
  out.push_back({"Compiler", str("compiler") + " (" + str("build") + ")"});
  out.push_back({"oneDNN", str("onednn")});
  out.push_back({"Kernel paths", "ISA " + str("isa") + ", bit GEMM " + str("bit_gemm_path") + ", XNOR " + str("xnor_gemm_path")});
  out.push_back({"bitbench", str("bitbench") + " (git " + str("git_revision") + ")"});
  out.push_back({"Command", str("command_line")});
  out.push_back({"Seed", str("seed")});
  out.push_back({"Config hash", r["config_hash"].get<std::string>()});
  out.push_back({"Created", r["created_utc"].get<std::string>()});
  return out;
}

std::string headline_note(const J& r) {
  const Headline h = headline(r);
  return "Latency: p50 at batch " + std::to_string(h.b_lo) + " on " + std::to_string(h.t_lo) + " thread(s); images/s at batch " +
         std::to_string(h.b_hi) + " on " + std::to_string(h.t_hi) + " thread(s); speed-up = the fp32 teacher's time over the model's "
         "at batch " + std::to_string(h.b_lo) + ", " + std::to_string(h.t_lo) + " thread(s). Bits/W: what each quantised weight takes in "
         "memory as the backend holds it (its packed layout, or int8 plus scales), the format's nominal bits in parentheses "
         "(patch embedding and head stay fp32). Size: the checkpoint file (the PTQ baseline: its int8 weights in memory).";
}

const char* const kHeader[] = {"Model", "Precision", "Backend", "Bits/W in memory (nominal)", "Size MB", "Top-1", "Top-5", "Δ top-1 vs teacher",
                               "Agreement", "Latency b=1 ms", "Images/s b=64", "Speed-up vs fp32"};

std::vector<std::string> row_cells(const Row& w) {
  return {w.model, w.precision, w.backend, w.bits, w.size_mb, w.top1, w.top5, w.delta, w.agreement, w.latency, w.ips, w.speedup};
}

std::string md_row(const std::vector<std::string>& cells) {
  std::string s = "|";
  for (const auto& c : cells) s += " " + c + " |";
  return s + "\n";
}

std::string header_label(const J& r, size_t i) {
  const Headline h = headline(r);
  if (i == 9) return "Latency b=" + std::to_string(h.b_lo) + " ms";
  if (i == 10) return "Images/s b=" + std::to_string(h.b_hi);
  return kHeader[i];
}

}  // namespace

std::string render_markdown(const J& r) {
  std::ostringstream s;
  const J& d = r["dataset"];
  s << "# bitbench results: " << r["name"].get<std::string>() << "\n\n";
  s << d["name"].get<std::string>() << " / " << d["split"].get<std::string>() << ", " << d["count"].get<int64_t>()
    << " images" << (r["run"]["quick"].get<bool>() ? " (quick run)" : "") << ".\n\n";
  std::vector<std::string> head;
  for (size_t i = 0; i < std::size(kHeader); ++i) head.push_back(header_label(r, i));
  s << md_row(head);
  s << md_row(std::vector<std::string>(head.size(), "---"));
  for (const Row& w : result_rows(r)) s << md_row(row_cells(w));
  s << "\n" << headline_note(r) << "\n\n";
  for (const std::string& line : latency_notes(r)) s << line << "\n\n";

  s << "## Latency, every measured point\n\n| Model | Backend | Batch | Threads | p50 ms | p90 ms | p99 ms | mean ms | std ms | images/s | runs | speed-up vs teacher |\n"
       "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  const J* teacher = teacher_of(r);
  for (const auto& m : r["models"])
    for (const auto& l : m["latency"]) {
      const J* tl = teacher ? latency_at(*teacher, l["batch"].get<int>(), l["threads"].get<int>()) : nullptr;
      s << md_row({m["name"].get<std::string>(), m["backend"].get<std::string>(), l["batch"].dump(), l["threads"].dump(),
                   num(l["p50_ms"], 3), num(l["p90_ms"], 3), num(l["p99_ms"], 3), num(l["mean_ms"], 3), num(l["std_ms"], 3),
                   num(l["images_per_s"], 1), l["runs"].dump() + (l["settled"].get<bool>() ? "" : " (cap)"),
                   m["role"] == "teacher" ? "reference" : speedup_cell(&l, tl)});
    }

  s << "\n## Memory\n\n| Model | Backend | Params | Quantised | Bits/W quantised layers (in memory) | Bits/W model (disk) | "
       "Weights on disk | Weights in memory | Activation arena | Peak RSS | Peak RSS above start |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& m : r["models"])
    s << md_row({m["name"].get<std::string>(), m["backend"].get<std::string>(), m["params"].dump(), m["quantized_params"].dump(),
                 num(m["bits_per_weight"]["quantized_layers_memory"], 2),
                 m["weight_bytes"]["disk"].get<int64_t>() ? num(m["bits_per_weight"]["model_disk"], 2) : "–",
                 m["weight_bytes"]["disk"].get<int64_t>() ? human_bytes(m["weight_bytes"]["disk"].get<double>()) : "– (derived)", human_bytes(m["weight_bytes"]["memory"].get<double>()),
                 human_bytes(m["activation_bytes"].get<double>()), human_bytes(m["peak_rss_bytes"].get<double>()),
                 m.contains("peak_rss_above_start_bytes") ? human_bytes(m["peak_rss_above_start_bytes"].get<double>()) : "–"});

  s << "\n## Fidelity and per-class accuracy\n\n| Model | Backend | macro-F1 | Agreement | KL(teacher ‖ model) | per-class top-1 |\n"
       "| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& m : r["models"]) {
    std::string pc;
    for (const auto& v : m["accuracy"]["per_class"]) pc += (pc.empty() ? "" : " ") + num(v, 1);
    s << md_row({m["name"].get<std::string>(), m["backend"].get<std::string>(), num(m["accuracy"]["macro_f1"], 2),
                 m.contains("fidelity") ? num(m["fidelity"]["agreement"], 2) : "–",
                 m.contains("fidelity") ? fmt(m["fidelity"]["kl_teacher"].get<double>(), 5) : "–", pc});
  }

  const J& p = r["projection"];
  s << "\n## Weight memory projection (same format traits)\n\n" << p["note"].get<std::string>() << "\n\n| Model | Params |";
  for (const auto& f : p["formats"]) s << " " << f["name"].get<std::string>() << " |";
  s << "\n| --- | --- |";
  for (size_t i = 0; i < p["formats"].size(); ++i) s << " --- |";
  s << "\n";
  for (const auto& m : p["models"]) {
    s << "| " << m["name"].get<std::string>() << " | " << fmt(m["params"].get<double>() / 1e6, 1) << " M |";
    for (const auto& f : p["formats"]) {
      const std::string k = f["name"].get<std::string>();
      s << " " << human_bytes(m["bytes"][k].get<double>()) << " (" << human_bytes(m["bytes_rest_fp16"][k].get<double>()) << ") |";
    }
    s << "\n";
  }
  s << "\nIn parentheses: the rest in fp16.\n\n## Environment\n\n";
  for (const auto& [k, v] : environment_lines(r)) s << "- " << k << ": " << v << "\n";
  return s.str();
}

std::string render_csv(const J& r) {
  auto cell = [](std::string v) {
    if (v.find_first_of(",\"\n") != std::string::npos) {
      std::string q = "\"";
      for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    }
    return v;
  };
  const Headline h = headline(r);
  const J* t = teacher_of(r);
  const J* tl = t ? latency_at(*t, h.b_lo, h.t_lo) : nullptr;
  const J& tr = r["config"]["transform"];
  std::ostringstream s;
  s << "model,backend,precision,top1,top1_err,top5,top5_err,macro_f1,agreement,kl_teacher,param_count,quantized_params,"
       "bits_per_weight,size_bytes,img_size,crop_pct,interpolation,latency_batch,latency_threads,latency_p50_ms,"
       "throughput_batch,throughput_threads,samples_per_sec,speedup_vs_fp32,kernel_path,bits_per_weight_memory\n";
  for (const auto& m : r["models"]) {
    const double top1 = m["accuracy"]["top1"].get<double>(), top5 = m["accuracy"]["top5"].get<double>();
    const J* l = latency_at(m, h.b_lo, h.t_lo);
    const J* hi = latency_at(m, h.b_hi, h.t_hi);
    std::vector<std::string> c = {m["name"].get<std::string>(), m["backend"].get<std::string>(), m["precision"].get<std::string>(),
                                  fmt(top1, 4), fmt(100 - top1, 4), fmt(top5, 4), fmt(100 - top5, 4),
                                  num(m["accuracy"]["macro_f1"], 4),
                                  m.contains("fidelity") ? num(m["fidelity"]["agreement"], 4) : "",
                                  m.contains("fidelity") ? fmt(m["fidelity"]["kl_teacher"].get<double>(), 6) : "",
                                  fmt(m["params"].get<double>() / 1e6, 4), m["quantized_params"].dump(),
                                  num(m["bits_per_weight"]["nominal"], 2), m["size_bytes"].dump(),
                                  tr["img_size"].dump(), tr["crop_pct"].dump(), tr["interpolation"].get<std::string>(),
                                  std::to_string(h.b_lo), std::to_string(h.t_lo), l ? num((*l)["p50_ms"], 4) : "",
                                  std::to_string(h.b_hi), std::to_string(h.t_hi), hi ? num((*hi)["images_per_s"], 2) : "",
                                  l && l->contains("speedup_vs_teacher") ? fmt((*l)["speedup_vs_teacher"]["median"].get<double>(), 3)
                                  : l && tl ? fmt((*tl)["p50_ms"].get<double>() / (*l)["p50_ms"].get<double>(), 3)
                                            : "",
                                  m["kernel_path"].get<std::string>(),
                                  num(m["bits_per_weight"].value("quantized_layers_memory", m["bits_per_weight"]["nominal"]), 3)};
    for (size_t i = 0; i < c.size(); ++i) s << (i ? "," : "") << cell(c[i]);
    s << "\n";
  }
  return s.str();
}

std::string render_html(const J& r) {
  std::ostringstream s;
  const std::string name = r["name"].get<std::string>();
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bitbench: " << html_escape(name) << "</title>\n"
    << "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
       "th{background:#f0f0f0}.plots svg{margin:0.5em;border:1px solid #eee}#errors{color:#b00}</style></head>\n<body>\n"
    << "<pre id=\"errors\"></pre>\n<script>window.onerror=function(m){document.getElementById('errors').textContent+=m+'\\n';};</script>\n";
  const J& d = r["dataset"];
  s << "<h1>bitbench results: " << html_escape(name) << "</h1>\n<p>" << html_escape(d["name"].get<std::string>()) << " / "
    << html_escape(d["split"].get<std::string>()) << ", " << d["count"].get<int64_t>() << " images"
    << (r["run"]["quick"].get<bool>() ? " (quick run)" : "") << ".</p>\n<table id=\"results\"><tr>";
  for (size_t i = 0; i < std::size(kHeader); ++i) s << "<th>" << html_escape(header_label(r, i)) << "</th>";
  s << "</tr>\n";
  for (const Row& w : result_rows(r)) {
    s << "<tr>";
    for (const auto& c : row_cells(w)) s << "<td>" << html_escape(c) << "</td>";
    s << "</tr>\n";
  }
  s << "</table>\n<p>" << html_escape(headline_note(r)) << "</p>\n";
  for (const std::string& line : latency_notes(r)) s << "<p>" << html_escape(line) << "</p>\n";
  s << "<h2>Plots</h2>\n<div class=\"plots\">\n";

  const Headline h = headline(r);
  std::vector<Pt> size_pts, lat_pts;
  for (const auto& m : r["models"]) {
    const std::string label = m["name"].get<std::string>() + " (" + m["backend"].get<std::string>() + ")";
    const double top1 = m["accuracy"]["top1"].get<double>();
    size_pts.push_back({m["size_bytes"].get<double>() / 1e6, top1, label});
    if (const J* l = latency_at(m, h.b_lo, h.t_lo)) lat_pts.push_back({(*l)["p50_ms"].get<double>(), top1, label});
  }
  s << scatter_svg("Top-1 vs model size", "size (MB, log scale)", "top-1 (%)", size_pts, true, {}) << "\n";
  s << scatter_svg("Top-1 vs latency (batch " + std::to_string(h.b_lo) + ", " + std::to_string(h.t_lo) + " thread(s)); dashed: Pareto front",
                   "p50 latency (ms)", "top-1 (%)", lat_pts, false, pareto_front(lat_pts))
    << "\n";
  std::vector<Series> curves;
  std::set<std::string> seen;
  for (const auto& m : r["models"]) {
    if (!m.contains("history") || !m["history"].is_array() || m["history"].empty() || seen.count(m["name"].get<std::string>())) continue;
    Series sr{m["name"].get<std::string>(), {}};
    for (const auto& e : m["history"])
      if (e.contains("epoch") && e.contains("eval_top1")) sr.xy.push_back({e["epoch"].get<double>(), e["eval_top1"].get<double>()});
    if (!sr.xy.empty()) {
      seen.insert(sr.name);
      curves.push_back(sr);
    }
  }
  if (!curves.empty()) s << lines_svg("Training curves (held-out top-1 per epoch)", "epoch", "top-1 (%)", curves) << "\n";
  const J* best = nullptr;
  for (const auto& m : r["models"])
    if (m["role"] == "student" && (!best || m["accuracy"]["top1"].get<double>() > (*best)["accuracy"]["top1"].get<double>())) best = &m;
  if (best)
    s << heatmap_svg("Confusion matrix: " + (*best)["name"].get<std::string>() + " (" + (*best)["backend"].get<std::string>() + ")",
                     (*best)["accuracy"]["confusion"], d["class_names"].get<std::vector<std::string>>())
      << "\n";
  s << "</div>\n<h2>Environment</h2>\n<table>";
  for (const auto& [k, v] : environment_lines(r)) s << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(v) << "</td></tr>";
  s << "</table>\n<p>Every figure is in report.json beside this page (schema: reports/report.schema.json).</p>\n"
    << "<script>document.body.setAttribute('data-rendered', 'ok');</script>\n</body></html>\n";
  return s.str();
}

void write_report_files(const J& r, const std::string& dir, bool with_json) {
  namespace fs = std::filesystem;
  // Render everything first: a failure leaves the folder as it was.
  const std::string md = render_markdown(r), csv = render_csv(r), html = render_html(r);
  if (with_json)  // JSON is UTF-8: a path that is not is written with U+FFFD rather than failing after the run
    write_file_atomic((fs::path(dir) / "report.json").string(), r.dump(2, ' ', false, J::error_handler_t::replace) + "\n");
  write_file_atomic((fs::path(dir) / "report.md").string(), md);
  write_file_atomic((fs::path(dir) / "results.csv").string(), csv);
  write_file_atomic((fs::path(dir) / "report.html").string(), html);
}

J read_report(const std::string& path) {
  J r = parse_json_text(read_file_text(path, 1ull << 30), path);
  if (!r.is_object() || !r.contains("schema_version") || !r["schema_version"].is_number_integer() || !r.contains("models") ||
      !r["models"].is_array())
    throw Error::input(path, "is not a bitbench report.json (no schema_version / models)");
  if (r["schema_version"].get<int>() > kReportSchemaVersion)
    throw Error::input(path, "has schema_version " + r["schema_version"].dump() + ", newer than this bitbench reads (" +
                                 std::to_string(kReportSchemaVersion) + ")");
  try {  // the renderers' assumptions, checked once here so a damaged report gets one clear error
    (void)render_markdown(r);
  } catch (const nlohmann::json::exception& e) {
    throw Error::input(path, std::string("does not have the report layout: ") + e.what());
  }
  return r;
}

std::vector<std::string> comparison_caveats(const J& a, const J& b) {
  std::vector<std::string> out;
  auto str = [](const J& j, const char* k) {
    return j.is_object() && j.contains(k) ? (j[k].is_string() ? j[k].get<std::string>() : j[k].dump()) : std::string("?");
  };
  const J none = J::object();
  const J& da = a.contains("dataset") ? a["dataset"] : none;
  const J& db = b.contains("dataset") ? b["dataset"] : none;
  if (str(da, "name") != str(db, "name") || str(da, "split") != str(db, "split") || str(da, "count") != str(db, "count"))
    out.push_back("Different images: A has " + str(da, "count") + " of " + str(da, "name") + "/" + str(da, "split") +
                  ", B " + str(db, "count") + " of " + str(db, "name") + "/" + str(db, "split") +
                  "; top-1 is not measured on the same images.");
  const J& ra = a.contains("run") ? a["run"] : none;
  const J& rb = b.contains("run") ? b["run"] : none;
  if (str(ra, "quick") != str(rb, "quick"))
    out.push_back(std::string("Quick run: ") + (str(ra, "quick") == "true" ? "A" : "B") +
                  " is a --quick run (fewer images, short timing), the other is not.");
  const J& ea = a.contains("environment") ? a["environment"] : none;
  const J& eb = b.contains("environment") ? b["environment"] : none;
  for (const char* k : {"cpu", "cores", "threads", "isa", "bit_gemm_path"})
    if (str(ea, k) != str(eb, k)) {
      out.push_back("Different machines or settings: A ran on " + str(ea, "cpu") + " (" + str(ea, "cores") + " cores, " +
                    str(ea, "threads") + " threads, ISA " + str(ea, "isa") + "), B on " + str(eb, "cpu") + " (" +
                    str(eb, "cores") + " cores, " + str(eb, "threads") + " threads, ISA " + str(eb, "isa") +
                    "); latencies are not comparable.");
      break;
    }
  auto busy = [&](const J& r) {
    return r.contains("latency_protocol") && r["latency_protocol"].is_object() &&
           r["latency_protocol"].contains("machine") && r["latency_protocol"]["machine"].value("busy", false);
  };
  for (const auto& [name, r] : {std::pair<const char*, const J*>{"A", &a}, {"B", &b}})
    if (busy(*r)) out.push_back(std::string(name) + " was timed on a busy machine (its report warns): its latencies are less trustworthy.");
  if (str(ea, "git_revision") != str(eb, "git_revision"))
    out.push_back("bitbench revisions: A " + str(ea, "git_revision") + ", B " + str(eb, "git_revision") + ".");
  out.push_back("Latency: A and B were timed in two separate runs, not in interleaved rounds; their difference "
                "includes run-to-run drift (a single run's speed-ups are interleaved and carry intervals).");
  return out;
}

Comparison compare_reports(const J& a, const J& b, double max_top1_drop, double max_slowdown_pct) {
  Comparison c;
  c.caveats = comparison_caveats(a, b);
  const Headline ha = headline(a);
  std::ostringstream s;
  s << "| Model | Backend | Top-1 A | Top-1 B | Δ top-1 | p50 A ms | p50 B ms | Δ latency | verdict |\n"
       "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& ma : a["models"]) {
    const J* mb = nullptr;
    for (const auto& m : b["models"])
      if (m["name"] == ma["name"] && m["backend"] == ma["backend"]) mb = &m;
    const std::string model = ma["name"].get<std::string>(), backend = ma["backend"].get<std::string>();
    const double ta = ma["accuracy"]["top1"].get<double>();
    if (!mb) {
      s << md_row({model, backend, fmt(ta, 2), "–", "–", "–", "–", "–", "MISSING in B"});
      c.crossed = true;
      continue;
    }
    const double tb = (*mb)["accuracy"]["top1"].get<double>(), dt = tb - ta;
    std::string verdict = "ok";
    if (max_top1_drop >= 0 && -dt > max_top1_drop) {
      verdict = "TOP-1 DROP";
      c.crossed = true;
    }
    const J* la = latency_at(ma, ha.b_lo, ha.t_lo);
    const J* lb = latency_at(*mb, ha.b_lo, ha.t_lo);
    std::string pa = "–", pb = "–", dl = "–";
    if (la && lb) {
      const double xa = (*la)["p50_ms"].get<double>(), xb = (*lb)["p50_ms"].get<double>(), pct = 100.0 * (xb - xa) / xa;
      pa = fmt(xa, 3);
      pb = fmt(xb, 3);
      dl = (pct >= 0 ? "+" : "") + fmt(pct, 1) + "%";
      if (max_slowdown_pct >= 0 && pct > max_slowdown_pct) {
        verdict = verdict == "ok" ? "SLOWER" : verdict + ", SLOWER";
        c.crossed = true;
      }
    }
    s << md_row({model, backend, fmt(ta, 2), fmt(tb, 2), (dt >= 0 ? "+" : "") + fmt(dt, 2), pa, pb, dl, verdict});
  }
  c.text = s.str();
  return c;
}

}  // namespace bb
