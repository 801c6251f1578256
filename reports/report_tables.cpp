#include "reports/report_tables.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

// GCC 12 reports `"literal" + std::string` temporaries as overlapping memcpy
// (-Wrestrict false positive, GCC PR 105329).
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace bb::report_detail {
namespace {

std::string threads_words(int t) { return std::to_string(t) + (t == 1 ? " thread" : " threads"); }

// Top-5 says something only when there are many more classes than five.
bool shows_top5(const ReportRecord& r) { return r.dataset.num_classes > 10; }

// What a backend holds each quantised weight as (report.json's backend and
// quantised-weight count say it; the bits per weight are beside it).
std::string weights_held(const ModelEntry& m) {
  if (m.quantized_params == 0) return "fp32";
  const std::string& b = m.backend;
  if (b == "bitkernels") return "packed codes + scales";
  if (b == "onednn-int8") return "int8 codes + scales";
  return "fp32 latent, fake-quantised per forward";
}

// ---- the main table

Section results_section(const ReportRecord& r) {
  const Headline h = headline(r);
  const ModelEntry* t = teacher_of(r);
  const J* tl = t ? latency_at(*t, h.b_lo, h.t_lo) : nullptr;
  const bool top5 = shows_top5(r);
  Section s;
  s.id = "results";
  s.table.header = {"Model", "Precision", "Backend", "Bits/W in memory (nominal)", "Size MB", "Top-1"};
  if (top5) s.table.header.push_back("Top-5");
  for (const char* c : {"Δ top-1 vs teacher", "Agreement"}) s.table.header.push_back(c);
  s.table.header.push_back("Latency b=" + std::to_string(h.b_lo) + " ms");
  s.table.header.push_back("Images/s b=" + std::to_string(h.b_hi));
  s.table.header.push_back("Speed-up vs fp32");
  s.table.header.push_back("What its bits buy");
  for (const ModelEntry& m : r.models) {
    const bool teacher = m.role == "teacher";
    // The bits each quantised weight takes as the backend holds it (packed
    // layout, int8 plus scales, or the fp32 latent weights of a fake-quant
    // forward), the nominal format's beside it.
    const BitsPerWeight& bpw = m.bits_per_weight;
    const std::string bits = m.quantized_params > 0
                                 ? num(bpw.quantized_layers_memory.value_or(bpw.nominal), 2) + " (" + num(bpw.nominal, 2) + ")"
                                 : num(bpw.nominal, 2);
    std::vector<std::string> row = {m.name, m.precision, m.backend, bits, fmt(static_cast<double>(m.size_bytes) / 1e6, 3),
                                    num(m.accuracy.top1, 2)};
    if (top5) row.push_back(num(m.accuracy.top5, 2));
    row.push_back(t && !teacher ? signed_fmt(m.accuracy.top1 - t->accuracy.top1, 2) : "–");
    row.push_back(m.fidelity ? num(m.fidelity->agreement, 2) : "–");
    const J* l = latency_at(m, h.b_lo, h.t_lo);
    const J* hi = latency_at(m, h.b_hi, h.t_hi);
    row.push_back(l ? num((*l)["p50_ms"], 3) : "–");
    row.push_back(hi ? num((*hi)["images_per_s"], 1) : "–");
    row.push_back(teacher ? (l ? "1.00× (reference)" : "–") : speedup_cell(l, tl));
    row.push_back(bits_buy(r, m));
    s.table.rows.push_back(row);
  }
  s.after.push_back(
      "Latency: p50 at batch " + std::to_string(h.b_lo) + " on " + threads_words(h.t_lo) + "; images/s at batch " + std::to_string(h.b_hi) +
      " on " + threads_words(h.t_hi) + "; speed-up = the fp32 teacher's time over the model's at batch " + std::to_string(h.b_lo) + ", " +
      threads_words(h.t_lo) + ". Bits/W: what each quantised weight takes in memory as the backend holds it (bit kernels: its packed "
      "codes and scales; oneDNN int8: int8 codes and scales; fake-quant: the fp32 latent weights, 32), the format's nominal bits in "
      "parentheses (patch embedding and head stay fp32). Size: the checkpoint file (the PTQ baseline: its int8 weights in memory). "
      "What its bits buy: the teacher's size over the model's, the speed-up at the headline point with its interval, and the change "
      "in top-1." +
      std::string(shows_top5(r) ? "" : " Top-5 is in report.json and results.csv (not shown: 10 classes or fewer)."));
  // How the latency was measured: the protocol, a busy machine, figures reused from an earlier measurement.
  if (r.latency_protocol && r.latency_protocol->is_object()) {
    const J& p = *r.latency_protocol;
    s.after.push_back("Latency: " + p["rounds"].dump() + " interleaved rounds per point, " +
                      fmt(p["min_seconds_per_model"].get<double>(), 2) + " s per model per point, " + fmt(p["seconds"].get<double>(), 1) +
                      " s in all; speed-up = median of the per-round ratios [95 % bootstrap interval]; \"not significant\": the "
                      "interval holds 1.0; \"noisy\": the teacher's own round-to-round spread exceeded 10 % at that point.");
    const J& mc = p["machine"];
    if (mc.value("busy", false))
      s.after.push_back("Warning: the machine was busy while timing (other processes took " + fmt(mc["other_cpu_cores"].get<double>(), 2) +
                        " cores on average; load " + fmt(mc["load_before"].get<double>(), 2) + " → " +
                        fmt(mc["load_after"].get<double>(), 2) + "): speed figures are less trustworthy.");
    if (p.value("reused", false))
      s.after.push_back("Latency measured " + p.value("measured_utc", std::string("earlier")) +
                        ", reused (the same models, protocol, CPU, ISA, kernel paths, threads and bitbench revision).");
  }
  // What the Δ top-1 column compares: labels in the teacher's classes, students of this teacher.
  if (r.dataset.class_map && r.dataset.class_map->is_object())
    s.after.push_back("Classes: " + r.dataset.class_map->value("source", std::string("?")) + ".");
  if (r.lineage && r.lineage->is_object() && r.lineage->contains("students")) {
    const J& lineage = *r.lineage;
    std::vector<std::string> same, unknown;
    for (const auto& [name, v] : lineage["students"].items()) {
      if (v["same_teacher"].is_boolean() && v["same_teacher"].get<bool>()) same.push_back(name);
      else unknown.push_back(name);
    }
    const std::string sha = lineage.value("teacher_weights_sha256", std::string()).substr(0, 12);
    std::string line = "Lineage: ";
    if (!same.empty()) {
      line += std::to_string(same.size()) + " student(s) record this teacher (weights sha256 " + sha + "…) as theirs";
    }
    if (!unknown.empty()) {
      line += std::string(same.empty() ? "" : "; ") + "no teacher recorded by";
      for (size_t i = 0; i < unknown.size(); ++i) line += (i ? ", " : " ") + unknown[i];
      line += " (their gap assumes this teacher)";
    }
    if (!same.empty() || !unknown.empty()) s.after.push_back(line + ".");
  }
  return s;
}

Section latency_section(const ReportRecord& r) {
  Section s;
  s.id = "latency";
  s.heading = "Latency, every measured point";
  s.table.header = {"Model", "Backend", "Batch", "Threads", "p50 ms", "p90 ms", "p99 ms", "min ms", "mean ms", "std ms", "images/s", "runs",
                    "speed-up vs teacher [95 % interval]"};
  const ModelEntry* teacher = teacher_of(r);
  for (const ModelEntry& m : r.models)
    for (const auto& l : latency_points(m)) {
      const J* tl = teacher ? latency_at(*teacher, l["batch"].get<int>(), l["threads"].get<int>()) : nullptr;
      s.table.rows.push_back({m.name, m.backend, l["batch"].dump(), l["threads"].dump(),
                              num(l["p50_ms"], 3), num(l["p90_ms"], 3), num(l["p99_ms"], 3), num(l.value("min_ms", J()), 3),
                              num(l["mean_ms"], 3), num(l["std_ms"], 3), num(l["images_per_s"], 1),
                              l["runs"].dump() + (l["settled"].get<bool>() ? "" : " (unsettled)"),
                              m.role == "teacher" ? "reference" : speedup_cell(&l, tl)});
    }
  s.after.push_back("runs: timed calls pooled over the rounds; \"(unsettled)\": the model's round times spread more than 10 % (max − min over median): the machine's speed moved while it was timed.");
  return s;
}

Section memory_section(const ReportRecord& r) {
  Section s;
  s.id = "memory";
  s.heading = "Memory";
  s.table.header = {"Model", "Backend", "Params", "Quantised", "Quantised weights held as", "Bits/W quantised layers (in memory)",
                    "Bits/W model (disk)", "Weights on disk", "Weights in memory", "Activation arena", "Peak RSS of this model",
                    "Process RSS before → peak"};
  for (const ModelEntry& m : r.models) {
    const bool disk = m.weight_bytes.disk > 0;
    const auto bytes = [](const std::optional<int64_t>& v) { return v ? human_bytes(static_cast<double>(*v)) : std::string("–"); };
    s.table.rows.push_back({m.name, m.backend, std::to_string(m.params), std::to_string(m.quantized_params),
                            m.quantized_params > 0 ? weights_held(m) : "– (fp32 model)",
                            num(m.bits_per_weight.quantized_layers_memory, 2), disk ? num(m.bits_per_weight.model_disk, 2) : "–",
                            disk ? human_bytes(static_cast<double>(m.weight_bytes.disk)) : "– (derived)",
                            human_bytes(static_cast<double>(m.weight_bytes.memory)), bytes(m.activation_bytes),
                            bytes(m.model_peak_rss_bytes),
                            bytes(m.process_rss_before_bytes) + " → " + bytes(m.process_peak_rss_bytes)});
  }
  s.after.push_back(
      "Weights in memory: the buffers the backend holds (packed codes, int8 codes, scales and the fp32 tensors left; a fake-quant "
      "forward holds the fp32 latent weights). Peak RSS of this model: how far the process's resident set rose during this model's "
      "evaluation above what it held just before the model was opened — the model as loaded, its activation arena, the loader's "
      "batches and kernel scratch (the peak is reset after loading, so load-time transients are not counted). Process RSS: the whole "
      "process before the model was opened and at its peak during the evaluation; it grows from row to row because it also holds the "
      "data set, the libraries and what earlier evaluations left resident (the teacher's logits kept for fidelity, library caches, "
      "heap kept by the allocator), so it is not a model's own figure.");
  if (std::any_of(r.models.begin(), r.models.end(), [](const ModelEntry& m) { return m.peak_rss_scope == "process"; }))
    s.after.push_back("Where /proc/self/clear_refs could not reset the peak (peak_rss_scope \"process\"), the peak is the process's "
                      "since it started.");
  return s;
}

Section fidelity_section(const ReportRecord& r) {
  Section s;
  s.id = "fidelity";
  s.heading = "Fidelity";
  s.table.header = {"Model", "Backend", "macro-F1", "Agreement", "KL(teacher ‖ model)"};
  for (const ModelEntry& m : r.models)
    s.table.rows.push_back({m.name, m.backend, num(m.accuracy.macro_f1, 2), m.fidelity ? num(m.fidelity->agreement, 2) : "–",
                            m.fidelity ? fmt(m.fidelity->kl_teacher, 5) : "–"});
  s.after.push_back("Agreement: the share of images on which the model's top-1 class is the teacher's; KL: the mean KL divergence "
                    "from the teacher's softmax to the model's.");
  return s;
}

Section per_class_section(const ReportRecord& r) {
  Section s;
  s.id = "per-class";
  s.heading = "Per-class top-1";
  size_t k = 0;
  for (const ModelEntry& m : r.models) k = std::max(k, m.accuracy.per_class.size());
  s.table.header = {"Class"};
  for (const ModelEntry& m : r.models) s.table.header.push_back(model_label(m));
  const std::vector<std::string> names = class_names(r, k);
  for (size_t c = 0; c < k; ++c) {
    std::vector<std::string> row = {names[c]};
    for (const ModelEntry& m : r.models) {
      const std::vector<double>& pc = m.accuracy.per_class;
      row.push_back(c < pc.size() && pc[c] >= 0 ? fmt(pc[c], 1) : "–");  // NaN (null) and -1 (no image): "–"
    }
    s.table.rows.push_back(row);
  }
  s.after.push_back("Top-1 within each true class, in %; \"–\": no image of that class in the evaluated split.");
  return s;
}

Section projection_section(const ReportRecord& r) {
  const J& p = r.projection;
  Section s;
  s.id = "projection";
  s.heading = "Weight memory projection (same format traits)";
  if (p.contains("note")) s.before.push_back(p["note"].get<std::string>());
  s.table.header = {"Model", "Params"};
  for (const auto& f : p["formats"]) s.table.header.push_back(f["name"].get<std::string>());
  for (const auto& m : p["models"]) {
    std::vector<std::string> row = {m["name"].get<std::string>(), fmt(m["params"].get<double>() / 1e6, 1) + " M"};
    for (const auto& f : p["formats"]) {
      const std::string k = f["name"].get<std::string>();
      row.push_back(human_bytes(m["bytes"][k].get<double>()) + " (" + human_bytes(m["bytes_rest_fp16"][k].get<double>()) + ")");
    }
    s.table.rows.push_back(row);
  }
  s.after.push_back("In parentheses: the rest in fp16.");
  return s;
}

// The ladder's formats at ViT shapes on random weights (eval/vit_scale.hpp):
// per preset and format, the weights in memory and, at each batch size, the
// p50 and the speed-up over fp32 with its interval.
Section vit_scale_section(const ReportRecord& r) {
  const J& v = *r.vit_scale;
  Section s;
  s.id = "vit-scale";
  s.heading = "At ViT scale (" + v["label"].get<std::string>() + ")";
  const J& pr = v["protocol"];
  s.before.push_back("Every format at each preset's shape with the same random weights, timed by the same meter in " +
                     std::to_string(pr["rounds"].get<int>()) + " interleaved rounds against the fp32 model on " +
                     threads_words(v["threads"].get<int>()) + "; speed-up = median of the per-round ratios [95 % interval]. "
                     "Weights: as each backend holds them in memory, and their share of the fp32 weights. "
                     "Nothing here is an accuracy: these models are not trained.");
  s.table.header = {"Preset", "Format", "Backend", "Weights in memory"};
  const std::vector<int> batches = pr["batch_sizes"].get<std::vector<int>>();
  for (int b : batches) {
    s.table.header.push_back("p50 ms b=" + std::to_string(b));
    s.table.header.push_back("Speed-up b=" + std::to_string(b));
  }
  for (const J& p : v["presets"]) {
    const std::string preset = p["preset"].get<std::string>() + " (" + num(p["params"].get<double>() / 1e6, 1) + " M)";
    for (const J& m : p["models"]) {
      std::vector<std::string> row = {preset, m["format"].get<std::string>(), m["backend"].get<std::string>(),
                                      human_bytes(m["weight_bytes"].get<double>()) + " (" +
                                          num(100 * m["weights_vs_fp32"].get<double>(), 1) + " %)"};
      for (int b : batches) {
        const J* pt = nullptr;
        for (const J& q : m["points"])
          if (q["batch"].get<int>() == b) pt = &q;
        if (!pt) {
          row.insert(row.end(), {"–", "–"});
          continue;
        }
        row.push_back(num((*pt)["p50_ms"].get<double>(), 3));
        const J& sp = (*pt)["speedup_vs_fp32"];
        std::string cell = num(sp["median"].get<double>(), 2) + "× [" + num(sp["ci95"][0].get<double>(), 2) + "–" +
                           num(sp["ci95"][1].get<double>(), 2) + "]";
        if (m["format"] != v["protocol"]["reference"] && !sp["significant"].get<bool>()) cell += " not significant";
        row.push_back(cell);
      }
      s.table.rows.push_back(row);
    }
  }
  s.after.push_back("The weight-memory projection below takes the same formats to a 7B model.");
  return s;
}

// ---- the frontier: top-1 against weights, latency (both headline points) and modelled energy

// Whether row i is on the Pareto front of (x, top-1) among the rows that have an x.
std::vector<bool> on_front(const std::vector<std::optional<double>>& x, const std::vector<double>& y) {
  std::vector<std::pair<double, double>> pts;
  std::vector<size_t> idx;
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i]) {
      pts.push_back({*x[i], y[i]});
      idx.push_back(i);
    }
  std::vector<bool> on(x.size(), false);
  for (size_t k : pareto_front(pts)) on[idx[k]] = true;
  return on;
}

Section frontier_section(const ReportRecord& r) {
  Section s;
  s.id = "frontier";
  s.heading = "The frontier: what each bit buys";
  const Headline h = headline(r);
  s.before.push_back(
      "Every model × backend against three costs: its weights as the backend holds them, its latency at batch " +
      std::to_string(h.b_lo) + " (" + threads_words(h.t_lo) + ") and at batch " + std::to_string(h.b_hi) + " (" +
      threads_words(h.t_hi) + "), and its energy per image *modelled* from operation counts. \"Front\" names the costs "
      "on which nothing else is both cheaper and at least as accurate (the Pareto front).");
  s.table.header = {"Model", "Precision", "Backend", "Top-1", "Weights in memory", "p50 ms b=" + std::to_string(h.b_lo),
                    "p50 ms b=" + std::to_string(h.b_hi), "Energy µJ/image b=1 (model)", "Energy µJ/image b=64 (model)",
                    "On the front"};
  std::vector<std::optional<double>> bytes, lo, hi;
  std::vector<double> top1;
  for (const ModelEntry& m : r.models) {
    bytes.push_back(static_cast<double>(m.weight_bytes.memory));
    const J* a = latency_at(m, h.b_lo, h.t_lo);
    const J* b = latency_at(m, h.b_hi, h.t_hi);
    lo.push_back(a ? std::optional<double>((*a)["p50_ms"].get<double>()) : std::nullopt);
    hi.push_back(b ? std::optional<double>((*b)["p50_ms"].get<double>()) : std::nullopt);
    top1.push_back(m.accuracy.top1);
  }
  const std::vector<bool> f_bytes = on_front(bytes, top1), f_lo = on_front(lo, top1), f_hi = on_front(hi, top1);
  for (size_t i = 0; i < r.models.size(); ++i) {
    const ModelEntry& m = r.models[i];
    std::string front;
    auto add = [&](bool on, const std::string& what) {
      if (on) front += (front.empty() ? "" : ", ") + what;
    };
    add(f_bytes[i], "weights");
    add(f_lo[i], "b=" + std::to_string(h.b_lo));
    if (h.b_hi != h.b_lo || h.t_hi != h.t_lo) add(f_hi[i], "b=" + std::to_string(h.b_hi));
    const J* e = m.energy_model ? &*m.energy_model : nullptr;
    s.table.rows.push_back({m.name, m.precision, m.backend, num(m.accuracy.top1, 2),
                            human_bytes(static_cast<double>(m.weight_bytes.memory)), num(lo[i], 3), num(hi[i], 3),
                            e ? num((*e)["uj_per_image_batch_1"], 2) : "–", e ? num((*e)["uj_per_image_batch_64"], 2) : "–",
                            front.empty() ? "–" : front});
  }
  if (r.energy_table) {
    const J& t = *r.energy_table;
    std::string rules;
    for (const J& rule : t["rules"]) rules += (rules.empty() ? "" : "; ") + rule.get<std::string>();
    s.after.push_back("Energy is " + t["label"].get<std::string>() + ": " + t["source"].get<std::string>() + ". " + rules +
                      ". The weights' DRAM reads are counted once per batch: at batch 64 each image carries 1/64 of them. "
                      "Integer backends are counted on the plan's codes (oneDNN int8 multiplying every pair), the others in fp32.");
  }
  return s;
}

// ---- a searched student's sensitivity per block Linear (eval/precision_search.hpp)

Section search_section(const ModelEntry& m) {
  const J& sr = *m.search;
  Section s;
  s.id = "search-" + m.name;
  s.heading = "Mixed precision: how " + m.name + " was chosen";
  const bool kl = sr["measure"] == "kl";
  const std::vector<std::string> rungs = sr["rungs"].get<std::vector<std::string>>();
  s.before.push_back(
      "Each block Linear stepped alone from " + rungs[0] + " down the ladder, the rest at " + rungs[0] + ", on " +
      sr["calibration_images"].dump() + " images of the training split (the eval split scores the result and does not "
      "choose it): the " + (kl ? "KL divergence to the teacher added (nats)" : "top-1 points lost") +
      ". The search steps layers down greedily (most cost saved per loss added) while the predicted sum stays within the "
      "budget, measures the plan whole, and steps the most sensitive layer back up while the whole exceeds the budget: a "
      "cheap plan within the budget, not provably the cheapest. The chosen plan is then distilled like every other student.");
  s.table.header = {"Layer"};
  for (size_t k = 1; k < rungs.size(); ++k) s.table.header.push_back(rungs[k]);
  s.table.header.push_back("Cost (" + sr["cost_unit"].get<std::string>() + ") per rung");
  s.table.header.push_back("Chosen");
  for (const J& l : sr["layers"]) {
    std::vector<std::string> row = {l["name"].get<std::string>()};
    for (size_t k = 1; k < rungs.size(); ++k) row.push_back(num(l["delta"][k], 4));
    std::string costs;
    for (const J& c : l["cost"]) costs += (costs.empty() ? "" : " / ") + num(c, 0);
    row.push_back(costs);
    row.push_back(l["chosen"].get<std::string>());
    s.table.rows.push_back(row);
  }
  const J& c = sr["chosen"];
  const J& cfg = sr.contains("config") ? sr["config"] : J::object();
  int reverts = 0;
  for (const J& t : sr["trace"]) reverts += t["action"] == "revert";
  s.after.push_back("Budget " + (cfg.contains("budget") ? num(cfg["budget"], 4) : std::string("–")) + "; chosen plan: " +
                    num(c["measured"], 4) + " measured (" + num(c["predicted"], 4) + " predicted as the sum), cost " +
                    num(100 * c["cost_vs_start"].get<double>(), 1) + " % of all at " + rungs[0] + ", " +
                    std::to_string(reverts) + " revert(s). Start plan: " + num(sr["start"]["measure"], 4) +
                    (kl ? " KL" : " %") + ", top-1 " + num(sr["start"]["top1"], 2) + " % on those images.");
  return s;
}

Section environment_section(const ReportRecord& r) {
  const J& e = r.environment;
  Section s;
  s.id = "environment";
  s.heading = "Environment";
  auto str = [&](const char* k) {
    return e.contains(k) ? (e[k].is_string() ? e[k].get<std::string>() : e[k].dump()) : std::string("–");
  };
  s.items = {{"CPU", str("cpu") + " (" + str("cpu_flags") + ")"},
             {"Cores / threads", str("cores") + " / " + str("threads")},
             {"OS", str("os") + ", " + str("kernel")},
             {"Compiler", str("compiler") + " (" + str("build") + ")"},
             {"oneDNN", str("onednn")},
             {"Kernel paths", "ISA " + str("isa") + ", bit GEMM " + str("bit_gemm_path") + ", XNOR " + str("xnor_gemm_path")},
             {"bitbench", str("bitbench") + " (git " + str("git_revision") + ")"},
             {"Command", str("command_line")},
             {"Seed", str("seed")},
             {"Config hash", r.config_hash},
             {"Created", r.created_utc}};
  return s;
}

}  // namespace

std::string dataset_line(const ReportRecord& r) {
  const DatasetRecord& d = r.dataset;
  return d.name + " / " + d.split + ", " + std::to_string(d.count) + " images" + (r.run.quick ? " (quick run)" : "") + ".";
}

std::string bits_buy(const ReportRecord& r, const ModelEntry& m) {
  const ModelEntry* t = teacher_of(r);
  if (m.role == "teacher") return "the reference";
  if (!t) return "–";
  std::string out;
  // Size: the teacher's file over the model's (Size MB's figures).
  const double ratio = static_cast<double>(t->size_bytes) / static_cast<double>(m.size_bytes);
  if (ratio >= 1.05) out = fmt(ratio, 1) + "× smaller";
  else if (ratio <= 1 / 1.05) out = fmt(1 / ratio, 1) + "× larger";
  else out = "the teacher's size";
  // Speed: the headline point's speed-up with its interval and marks.
  const Headline h = headline(r);
  const J* l = latency_at(m, h.b_lo, h.t_lo);
  const J* tl = latency_at(*t, h.b_lo, h.t_lo);
  if (l && l->contains("speedup_vs_teacher")) {
    const J& sp = (*l)["speedup_vs_teacher"];
    out += ", " + fmt(sp["median"].get<double>(), 2) + "× [" + fmt(sp["ci95"][0].get<double>(), 2) + "–" +
           fmt(sp["ci95"][1].get<double>(), 2) + "]";
    const std::string marks = speedup_marks(*l);
    if (!marks.empty()) out += " (" + marks + ")";
  } else if (l && tl) {
    out += ", " + fmt((*tl)["p50_ms"].get<double>() / (*l)["p50_ms"].get<double>(), 2) + "× (ratio of p50s)";
  }
  if (l) out += " at batch " + std::to_string(h.b_lo) + ", " + threads_words(h.t_lo);
  out += ", " + signed_fmt(m.accuracy.top1 - t->accuracy.top1, 2) + " points";
  return out;
}

std::vector<Section> report_sections(const ReportRecord& r) {
  std::vector<Section> out = {results_section(r), latency_section(r), memory_section(r), fidelity_section(r),
                              per_class_section(r)};
  out.push_back(frontier_section(r));
  std::set<std::string> searched;  // one sensitivity table per searched student, not per backend
  for (const ModelEntry& m : r.models)
    if (m.search && searched.insert(m.name).second) out.push_back(search_section(m));
  if (r.vit_scale) out.push_back(vit_scale_section(r));
  out.push_back(projection_section(r));
  out.push_back(environment_section(r));
  return out;
}

}  // namespace bb::report_detail
