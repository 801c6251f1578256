#include "reports/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/json_reader.hpp"
#include "reports/report_common.hpp"
#include "reports/report_record.hpp"
#include "reports/report_tables.hpp"
#include "reports/text_format.hpp"
#include "reports/vega_library.hpp"
#include "reports/vega_plots.hpp"

// GCC 12 reports `"literal" + std::string` temporaries as overlapping memcpy
// (-Wrestrict false positive, GCC PR 105329).
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace bb {
namespace {

using namespace report_detail;

// A Markdown table row; a "|" inside a cell is escaped.
std::string md_row(const std::vector<std::string>& cells) {
  std::string s = "|";
  for (const auto& c : cells) {
    std::string e;
    for (char ch : c) e += ch == '|' ? std::string("\\|") : std::string(1, ch);
    s += " " + e + " |";
  }
  return s + "\n";
}

std::string md_table(const Table& t) {
  if (t.header.empty()) return "";
  std::string s = md_row(t.header) + md_row(std::vector<std::string>(t.header.size(), "---"));
  for (const auto& row : t.rows) s += md_row(row);
  return s;
}

std::string html_table(const Table& t, const std::string& id) {
  if (t.header.empty()) return "";
  std::string s = "<div class=\"scroll\"><table" + (id.empty() ? std::string() : " id=\"" + id + "\"") + "><thead><tr>";
  for (const auto& h : t.header) s += "<th>" + html_escape(h) + "</th>";
  s += "</tr></thead><tbody>\n";
  for (const auto& row : t.rows) {
    s += "<tr>";
    for (const auto& c : row) s += "<td>" + html_escape(c) + "</td>";
    s += "</tr>\n";
  }
  return s + "</tbody></table></div>\n";
}

// report.json from schema 1 in the layout this bitbench renders (schema 2):
// the memory figures under their new names, and a fake-quant row's bits per
// weight in memory as what it held (its fp32 latent weights: schema 1 wrote
// the nominal bits there).
void upgrade_from_v1(J& r) {
  for (auto& m : r["models"]) {
    if (!m.is_object()) continue;
    if (m.contains("peak_rss_bytes")) {
      m["process_peak_rss_bytes"] = m["peak_rss_bytes"];
      if (m.contains("peak_rss_above_start_bytes") && m.value("peak_rss_scope", "") == "this evaluation") {
        m["model_peak_rss_bytes"] = m["peak_rss_above_start_bytes"];
        if (m["peak_rss_bytes"].is_number() && m["peak_rss_above_start_bytes"].is_number())
          m["process_rss_before_bytes"] = m["peak_rss_bytes"].get<int64_t>() - m["peak_rss_above_start_bytes"].get<int64_t>();
      }
      m.erase("peak_rss_bytes");
      m.erase("peak_rss_above_start_bytes");
    }
    if (m.value("backend", "") == "fake-quant" && m.contains("bits_per_weight") && m["bits_per_weight"].is_object() &&
        m.value("quantized_params", int64_t{0}) > 0)
      m["bits_per_weight"]["quantized_layers_memory"] = 32.0;
  }
  r["schema_version"] = kReportSchemaVersion;
}

}  // namespace

std::string render_markdown(const ReportRecord& r) {
  std::ostringstream s;
  s << "# bitbench results: " << r.name << "\n\n" << dataset_line(r) << "\n\n";
  for (const Section& sec : report_sections(r)) {
    if (!sec.heading.empty()) s << "## " << sec.heading << "\n\n";
    for (const auto& p : sec.before) s << p << "\n\n";
    if (!sec.table.header.empty()) s << md_table(sec.table) << "\n";
    for (const auto& p : sec.after) s << p << "\n\n";
    for (const auto& [k, v] : sec.items) s << "- " << k << ": " << v << "\n";
  }
  std::string out = s.str();
  while (out.size() > 1 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

std::string render_csv(const ReportRecord& r) {
  auto cell = [](std::string v) {
    if (v.find_first_of(",\"\n") != std::string::npos) {
      std::string q = "\"";
      for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    }
    return v;
  };
  const Headline h = headline(r);
  const ModelEntry* t = teacher_of(r);
  const J* tl = t ? latency_at(*t, h.b_lo, h.t_lo) : nullptr;
  const J& tr = r.config["transform"];
  std::ostringstream s;
  s << "model,backend,precision,top1,top1_err,top5,top5_err,macro_f1,agreement,kl_teacher,param_count,quantized_params,"
       "bits_per_weight,size_bytes,img_size,crop_pct,interpolation,latency_batch,latency_threads,latency_p50_ms,"
       "throughput_batch,throughput_threads,samples_per_sec,speedup_vs_fp32,kernel_path,bits_per_weight_memory,"
       "speedup_ci95_lo,speedup_ci95_hi,speedup_significant,size_ratio_vs_teacher,delta_top1_vs_teacher,model_peak_rss_bytes,"
       "bits_buy\n";
  for (const ModelEntry& m : r.models) {
    const double top1 = m.accuracy.top1, top5 = m.accuracy.top5;
    const J* l = latency_at(m, h.b_lo, h.t_lo);
    const J* hi = latency_at(m, h.b_hi, h.t_hi);
    const J* sp = l && l->contains("speedup_vs_teacher") ? &(*l)["speedup_vs_teacher"] : nullptr;
    const bool teacher = m.role == "teacher";
    std::vector<std::string> c = {m.name, m.backend, m.precision,
                                  fmt(top1, 4), fmt(100 - top1, 4), fmt(top5, 4), fmt(100 - top5, 4),
                                  num(m.accuracy.macro_f1, 4),
                                  m.fidelity ? num(m.fidelity->agreement, 4) : "",
                                  m.fidelity ? fmt(m.fidelity->kl_teacher, 6) : "",
                                  fmt(static_cast<double>(m.params) / 1e6, 4), std::to_string(m.quantized_params),
                                  num(m.bits_per_weight.nominal, 2), std::to_string(m.size_bytes),
                                  tr["img_size"].dump(), tr["crop_pct"].dump(), tr["interpolation"].get<std::string>(),
                                  std::to_string(h.b_lo), std::to_string(h.t_lo), l ? num((*l)["p50_ms"], 4) : "",
                                  std::to_string(h.b_hi), std::to_string(h.t_hi), hi ? num((*hi)["images_per_s"], 2) : "",
                                  sp   ? fmt((*sp)["median"].get<double>(), 3)
                                  : l && tl ? fmt((*tl)["p50_ms"].get<double>() / (*l)["p50_ms"].get<double>(), 3)
                                            : "",
                                  m.kernel_path,
                                  num(m.bits_per_weight.quantized_layers_memory.value_or(m.bits_per_weight.nominal), 3),
                                  sp && !teacher ? fmt((*sp)["ci95"][0].get<double>(), 3) : "",
                                  sp && !teacher ? fmt((*sp)["ci95"][1].get<double>(), 3) : "",
                                  sp && !teacher ? ((*sp)["significant"].get<bool>() ? "true" : "false") : "",
                                  t ? fmt(static_cast<double>(t->size_bytes) / static_cast<double>(m.size_bytes), 3) : "",
                                  t && !teacher ? fmt(top1 - t->accuracy.top1, 4) : "",
                                  m.model_peak_rss_bytes ? std::to_string(*m.model_peak_rss_bytes) : "",
                                  bits_buy(r, m)};
    for (size_t i = 0; i < c.size(); ++i) s << (i ? "," : "") << cell(c[i]);
    s << "\n";
  }
  return s.str();
}

std::string render_html(const ReportRecord& r) {
  std::ostringstream s;
  const std::string& name = r.name;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bitbench: " << html_escape(name) << "</title>\n"
    << "<style>body{font-family:sans-serif;margin:1.5em 2em;font-size:13px;color:#222}h1{font-size:1.6em}h2{margin-top:1.6em}"
       "table{border-collapse:collapse;margin:0.6em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right;vertical-align:top}"
       "td:first-child,th:first-child{text-align:left}th{background:#f0f0f0;font-weight:600}tbody tr:nth-child(even){background:#fafafa}"
       "td{white-space:nowrap}#results td:nth-last-child(-n+2){white-space:normal;min-width:9em}"
       "#results td:last-child,#results th:last-child{text-align:left;min-width:19em}"
       ".scroll{overflow-x:auto}p{max-width:75em;line-height:1.4}"
       ".plots{display:flex;flex-wrap:wrap;gap:1.5em 1.5em;align-items:flex-start}figure{margin:0;flex:0 0 auto}"
       "figcaption{font-size:12px;color:#555;max-width:560px;margin-left:8px}#errors{color:#b00;white-space:pre-wrap}"
       "#errors:empty{display:none}"
       "dl.env{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dl.env dt{font-weight:600}dl.env dd{margin:0}</style>\n"
       "</head>\n<body>\n"
    << "<pre id=\"errors\"></pre>\n"
    << "<script>window.onerror=function(m){document.getElementById('errors').textContent+=m+'\\n';};</script>\n";
  s << "<h1>bitbench results: " << html_escape(name) << "</h1>\n<p>" << html_escape(dataset_line(r)) << "</p>\n";
  const std::vector<Plot> plots = report_plots(r);
  bool first = true;
  for (const Section& sec : report_sections(r)) {
    s << "<section id=\"sec-" << sec.id << "\">\n";
    if (!sec.heading.empty()) s << "<h2>" << html_escape(sec.heading) << "</h2>\n";
    for (const auto& p : sec.before) s << "<p>" << html_escape(p) << "</p>\n";
    s << html_table(sec.table, sec.id);
    for (const auto& p : sec.after) s << "<p>" << html_escape(p) << "</p>\n";
    if (!sec.items.empty()) {
      s << "<dl class=\"env\">";
      for (const auto& [k, v] : sec.items) s << "<dt>" << html_escape(k) << "</dt><dd>" << html_escape(v) << "</dd>";
      s << "</dl>\n";
    }
    s << "</section>\n";
    if (first) {  // the plots right under the main table
      s << "<section id=\"sec-plots\">\n<h2>Plots</h2>\n<p>Drawn with Vega " << html_escape(vega_package_version())
        << " (Debian's libjs-vega, inlined: this page needs no network). Hover a mark for its figures.</p>\n<div class=\"plots\">\n";
      for (const Plot& p : plots)
        s << "<figure><div class=\"plot\" id=\"" << p.id << "\" data-rendered=\"pending\" data-points=\"" << p.points
          << "\"></div><figcaption>" << html_escape(p.caption)
          << "</figcaption></figure>\n";
      s << "</div>\n</section>\n";
      first = false;
    }
  }
  s << "<p>Every figure is in report.json beside this page (schema: reports/report.schema.json).</p>\n";
  // The library, then one View per plot; each container says when its view
  // has rendered (data-rendered="ok", or "error" with the message in #errors),
  // and the body when all have (data-plots="N/N ok").
  s << "<script>\n" << vega_library_script() << "</script>\n<script>\n(function(){\nvar specs = {\n";
  for (size_t i = 0; i < plots.size(); ++i)
    s << (i ? ",\n" : "") << "\"" << plots[i].id << "\": " << script_safe(plots[i].spec.dump(-1, ' ', false, J::error_handler_t::replace));
  s << "\n};\n"
       "var ids = Object.keys(specs), ok = 0, done = 0;\n"
       "function finish(){ if (++done === ids.length) document.body.setAttribute('data-plots', ok + '/' + ids.length + ' ok'); }\n"
       "if (!ids.length) document.body.setAttribute('data-plots', '0/0 ok');\n"
       "ids.forEach(function(id){\n"
       "  var el = document.getElementById(id);\n"
       "  try {\n"
       "    new vega.View(vega.parse(specs[id]), {renderer: 'svg', container: el, hover: true}).runAsync().then(function(){\n"
       "      // the data marks (points, cells) drawn, against the points the spec holds\n"
       "      var marks = el.querySelectorAll('svg .mark-symbol.role-mark path, svg .mark-rect.role-mark path').length;\n"
       "      var want = Number(el.getAttribute('data-points'));\n"
       "      el.setAttribute('data-marks', marks);\n"
       "      el.setAttribute('data-rendered', marks > 0 && marks === want ? 'ok' : 'incomplete');\n"
       "      if (marks > 0 && marks === want) ok++; finish();\n"
       "    }).catch(function(e){ el.setAttribute('data-rendered', 'error');\n"
       "      document.getElementById('errors').textContent += id + ': ' + e + '\\n'; finish(); });\n"
       "  } catch (e) { el.setAttribute('data-rendered', 'error'); document.getElementById('errors').textContent += id + ': ' + e + '\\n'; finish(); }\n"
       "});\n"
       "})();\n</script>\n"
       "<script>document.body.setAttribute('data-rendered', 'ok');</script>\n</body></html>\n";
  return s.str();
}

std::string render_markdown(const J& report) { return render_markdown(report_record(report)); }
std::string render_csv(const J& report) { return render_csv(report_record(report)); }
std::string render_html(const J& report) { return render_html(report_record(report)); }

ReportRecord report_record(const J& report) { return report.get<ReportRecord>(); }

void write_report_files(const J& r, const std::string& dir, bool with_json) {
  namespace fs = std::filesystem;
  // Render everything first: a failure leaves the folder as it was.
  const ReportRecord rec = report_record(r);
  const std::string md = render_markdown(rec), csv = render_csv(rec), html = render_html(rec);
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
  const int version = r["schema_version"].get<int>();
  if (version > kReportSchemaVersion)
    throw Error::input(path, "has schema_version " + r["schema_version"].dump() + ", newer than this bitbench reads (" +
                                 std::to_string(kReportSchemaVersion) + ")");
  if (version < 1) throw Error::input(path, "has schema_version " + r["schema_version"].dump() + ", older than any bitbench wrote");
  try {  // the record's fields and the renderers' assumptions, checked once here so a damaged report gets one clear error
    if (version == 1) upgrade_from_v1(r);
    const ReportRecord rec = report_record(r);
    (void)render_markdown(rec);
    (void)report_plots(rec);
  } catch (const nlohmann::json::exception& e) {
    throw Error::input(path, std::string("does not have the report layout: ") + e.what());
  } catch (const std::invalid_argument& e) {  // a part of the record, named ("models[1]: ...")
    throw Error::input(path, std::string("does not have the report layout: ") + e.what());
  }
  return r;
}

std::vector<std::string> comparison_caveats(const ReportRecord& a, const ReportRecord& b) {
  std::vector<std::string> out;
  auto str = [](const J& j, const char* k) {
    return j.is_object() && j.contains(k) ? (j[k].is_string() ? j[k].get<std::string>() : j[k].dump()) : std::string("?");
  };
  const DatasetRecord &da = a.dataset, &db = b.dataset;
  if (da.name != db.name || da.split != db.split || da.count != db.count)
    out.push_back("Different images: A has " + std::to_string(da.count) + " of " + da.name + "/" + da.split + ", B " +
                  std::to_string(db.count) + " of " + db.name + "/" + db.split + "; top-1 is not measured on the same images.");
  if (a.run.quick != b.run.quick)
    out.push_back(std::string("Quick run: ") + (a.run.quick ? "A" : "B") +
                  " is a --quick run (fewer images, short timing), the other is not.");
  const J &ea = a.environment, &eb = b.environment;
  for (const char* k : {"cpu", "cores", "threads", "isa", "bit_gemm_path"})
    if (str(ea, k) != str(eb, k)) {
      out.push_back("Different machines or settings: A ran on " + str(ea, "cpu") + " (" + str(ea, "cores") + " cores, " +
                    str(ea, "threads") + " threads, ISA " + str(ea, "isa") + "), B on " + str(eb, "cpu") + " (" +
                    str(eb, "cores") + " cores, " + str(eb, "threads") + " threads, ISA " + str(eb, "isa") +
                    "); latencies are not comparable.");
      break;
    }
  auto busy = [&](const ReportRecord& r) {
    return r.latency_protocol && r.latency_protocol->is_object() && r.latency_protocol->contains("machine") &&
           (*r.latency_protocol)["machine"].value("busy", false);
  };
  for (const auto& [name, r] : {std::pair<const char*, const ReportRecord*>{"A", &a}, {"B", &b}})
    if (busy(*r)) out.push_back(std::string(name) + " was timed on a busy machine (its report warns): its latencies are less trustworthy.");
  if (str(ea, "git_revision") != str(eb, "git_revision"))
    out.push_back("bitbench revisions: A " + str(ea, "git_revision") + ", B " + str(eb, "git_revision") + ".");
  out.push_back("Latency: A and B were timed in two separate runs, not in interleaved rounds; their difference "
                "includes run-to-run drift (a single run's speed-ups are interleaved and carry intervals).");
  return out;
}

Comparison compare_reports(const J& ja, const J& jb, double max_top1_drop, double max_slowdown_pct) {
  Comparison c;
  const ReportRecord a = report_record(ja), b = report_record(jb);
  c.caveats = comparison_caveats(a, b);
  const Headline ha = headline(a);
  std::ostringstream s;
  s << "| Model | Backend | Top-1 A | Top-1 B | Δ top-1 | p50 A ms | p50 B ms | Δ latency | verdict |\n"
       "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const ModelEntry& ma : a.models) {
    const ModelEntry* mb = nullptr;
    for (const ModelEntry& m : b.models)
      if (m.name == ma.name && m.backend == ma.backend) mb = &m;
    const std::string &model = ma.name, &backend = ma.backend;
    const double ta = ma.accuracy.top1;
    if (!mb) {
      s << md_row({model, backend, fmt(ta, 2), "–", "–", "–", "–", "–", "MISSING in B"});
      c.crossed = true;
      continue;
    }
    const double tb = mb->accuracy.top1, dt = tb - ta;
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
