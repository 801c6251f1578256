#include "eval/validate.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "core/json_reader.hpp"
#include "datasets/class_map.hpp"
#include "datasets/loader.hpp"
#include "datasets/timm_eval_settings.hpp"
#include "eval/evaluator.hpp"
#include "eval/latency_input.hpp"
#include "measure/machine_load.hpp"
#include "measure/meter.hpp"

namespace bb {

std::string apply_model_eval_settings(TransformConfig& t, const std::string& model_name,
                                      const std::map<std::string, std::string>& meta, const std::string& path,
                                      int in_chans) {
  std::string name = model_name;
  if (name.empty())
    if (auto it = meta.find("model"); it != meta.end()) name = it->second;
  if (const TimmEvalSettings* s = timm_eval_settings(name); s && in_chans == 3) {
    if (t.crop_pct == 0) t.crop_pct = s->crop_pct;
    if (t.interpolation.empty()) t.interpolation = s->interpolation;
    if (t.mean.empty()) t.mean.assign(s->mean.begin(), s->mean.end());
    if (t.std.empty()) t.std.assign(s->std.begin(), s->std.end());
    return std::string("timm ") + s->model + "." + s->tag;
  }
  auto it = meta.find("transform");
  if (it == meta.end()) return "data set";
  const nlohmann::json j = parse_json_text(it->second, path + " (metadata bitbench.transform)");
  if (!j.is_object()) throw Error::input(path, "metadata bitbench.transform is not a JSON object");
  // A value the file states is used or refused, never skipped: falling back to
  // the data set's statistics without a word would be a silently wrong number.
  auto bad = [&](const std::string& key, const std::string& why) {
    return Error::input(path, "metadata bitbench.transform " + key + " " + j[key].dump() + " " + why);
  };
  auto numbers = [&](const char* key, bool positive) {
    std::vector<double> v;
    if (!j.contains(key)) return v;
    if (!j[key].is_array() || j[key].size() != static_cast<size_t>(in_chans))
      throw bad(key, "is not " + std::to_string(in_chans) + " number(s), one per input channel");
    for (const auto& x : j[key]) {
      const double d = x.is_number() ? x.get<double>() : std::nan("");
      if (!std::isfinite(d) || (positive && !(d > 0)) || std::fabs(d) > 1e6)
        throw bad(key, positive ? "holds a value that is not a positive number" : "holds a value that is not a number");
      v.push_back(d);
    }
    return v;
  };
  if (j.contains("crop_pct")) {
    const double c = j["crop_pct"].is_number() ? j["crop_pct"].get<double>() : -1;
    if (!(c >= kMinCropPct && c <= 1)) throw bad("crop_pct", "is outside [0.01, 1]");
    if (t.crop_pct == 0) t.crop_pct = c;
  }
  if (j.contains("interpolation")) {
    static const std::vector<std::string> known = {"bilinear", "bicubic", "nearest", "box", "hamming", "lanczos", "area"};
    if (!j["interpolation"].is_string() ||
        std::find(known.begin(), known.end(), j["interpolation"].get<std::string>()) == known.end())
      throw bad("interpolation", "is not one of bilinear, bicubic, nearest, box, hamming, lanczos, area");
    if (t.interpolation.empty()) t.interpolation = j["interpolation"].get<std::string>();
  }
  const std::vector<double> mean = numbers("mean", false), std = numbers("std", true);
  if (t.mean.empty()) t.mean = mean;
  if (t.std.empty()) t.std = std;
  return "checkpoint";
}

namespace {

nlohmann::json rounded(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(std::round(x * 1e6) / 1e6);
  return a;
}

}  // namespace

std::vector<std::string> checkpoint_class_names(const std::map<std::string, std::string>& meta, const std::string& path,
                                                int num_classes) {
  auto it = meta.find("class_names");
  if (it == meta.end()) return {};
  const nlohmann::json j = parse_json_text(it->second, path + " (metadata bitbench.class_names)");
  if (!j.is_array() || !std::all_of(j.begin(), j.end(), [](const nlohmann::json& x) { return x.is_string(); }))
    throw Error::input(path, "metadata bitbench.class_names is not a JSON array of strings");
  if (static_cast<int>(j.size()) != num_classes)
    throw Error::input(path, "metadata bitbench.class_names names " + std::to_string(j.size()) + " classes, the model has " +
                                 std::to_string(num_classes));
  return j.get<std::vector<std::string>>();
}

ValidateResult run_validation(const ValidateOptions& o) {
  // Everything is opened and checked before the first line is printed: a
  // refusal is one line, with no settings banner before it.
  std::unique_ptr<RunnableModel> model = open_model(o.checkpoint, o.backend, {o.config, std::nullopt});
  const ViTConfig& mc = model->config();

  DataConfig dc = o.data;
  if (!dc.transform.img_size) dc.transform.img_size = mc.img_size;
  dc.transform.in_chans = mc.in_chans;
  const std::string settings_from =
      apply_model_eval_settings(dc.transform, o.model_name, model->model().metadata, o.checkpoint, mc.in_chans);
  resolve(dc);
  if (dc.transform.img_size != mc.img_size)
    throw Error::usage("--img-size " + std::to_string(dc.transform.img_size) + " differs from the model's " +
                       std::to_string(mc.img_size) + " (position embeddings are not resampled)");
  for (auto* v : {&dc.transform.mean, &dc.transform.std})
    if (v->size() != static_cast<size_t>(mc.in_chans))
      throw Error::usage("--mean/--std need " + std::to_string(mc.in_chans) + " values for this model");
  const std::string split = o.split.empty() ? dc.dataset.eval_split : o.split;
  std::unique_ptr<Dataset> opened = open_dataset(dc.dataset, split);
  const std::vector<std::string> model_names =
      checkpoint_class_names(model->model().metadata, o.checkpoint, mc.num_classes);
  const ClassMap class_map = resolve_class_map(*opened, mc.num_classes, model_names, dc.dataset.class_map, o.checkpoint);
  std::unique_ptr<Dataset> relabeled;
  if (!class_map.identity)
    relabeled = std::make_unique<RelabeledDataset>(*opened, class_map);
  const Dataset* ds = relabeled ? relabeled.get() : opened.get();

  if (comm::is_root()) {
    // As timm's validate logs its data config.
    std::fprintf(stderr, "Data processing configuration (%s):\n\tinput_size: (%d, %d, %d)\n\tinterpolation: %s (resize %s)\n",
                 settings_from.c_str(), mc.in_chans, dc.transform.img_size, dc.transform.img_size,
                 dc.transform.interpolation.c_str(), dc.transform.resize.c_str());
    for (const auto& [what, v] : {std::pair<const char*, const std::vector<double>*>{"mean", &dc.transform.mean}, {"std", &dc.transform.std}}) {
      std::fprintf(stderr, "\t%s: (", what);
      for (size_t i = 0; i < v->size(); ++i) std::fprintf(stderr, "%s%g", i ? ", " : "", (*v)[i]);
      std::fprintf(stderr, ")\n");
    }
    std::fprintf(stderr, "\tcrop_pct: %g\n\tcrop_mode: center\n\tclasses: %s\n", dc.transform.crop_pct,
                 class_map.source.c_str());
  }

  LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.workers = o.workers;
  lo.limit = o.limit;
  lo.first = o.first;
  lo.rank = comm::rank();  // under mpirun: each rank validates its shard; rank 0 reports
  lo.ranks = comm::size();
  Loader loader(*ds, dc.transform, dc.augment, lo);
  EvalResult r = evaluate([&](const TensorView& x) { return model->forward(x); }, loader, o.keep_logits,
                          "validate " + ds->name() + "/" + split);

  ValidateResult out;
  auto& res = out.fields;
  res["model"] = o.model_name.empty() ? std::filesystem::path(o.checkpoint).stem().string() : o.model_name;
  res["top1"] = std::round(r.top1() * 1e4) / 1e4;
  res["top1_err"] = std::round((100 - r.top1()) * 1e4) / 1e4;
  res["top5"] = std::round(r.top5() * 1e4) / 1e4;
  res["top5_err"] = std::round((100 - r.top5()) * 1e4) / 1e4;
  res["param_count"] = std::round(static_cast<double>(model->model().params.count()) / 1e4) / 100;  // millions, as timm
  res["img_size"] = dc.transform.img_size;
  res["crop_pct"] = dc.transform.crop_pct;
  res["interpolation"] = dc.transform.interpolation;
  res["mean"] = rounded(dc.transform.mean);
  res["std"] = rounded(dc.transform.std);
  res["samples_per_sec"] = std::round(r.images_per_second() * 10) / 10;
  // The model's own speed with the meter `bitbench run` uses: its forward
  // alone on a batch loaded beforehand, timed in rounds for time_seconds
  // (samples_per_sec above is end to end, loading included, as timm's).
  if (o.time_seconds > 0) {
    Tensor x = latency_input(*ds, dc, o.batch_size, mc.in_chans, mc.img_size);
    RoundsOptions ro;
    ro.min_seconds = o.time_seconds;
    ro.warmup = 1;
    MachineLoadMeter meter;
    const RoundsResult t = measure_rounds({[&] { model->forward(x.view()); }}, o.batch_size, num_threads(), ro);
    const MachineLoad load = meter.stop();
    out.machine_busy = load.busy();
    out.other_cpu_cores = load.other_cores();
    out.model_images_per_second = t.stats[0].images_per_s;
    out.timed_seconds = t.seconds;
    res["model_samples_per_sec"] = std::round(t.stats[0].images_per_s * 10) / 10;
    res["model_p50_ms"] = std::round(t.stats[0].p50_ms * 1e4) / 1e4;
    res["model_timed_calls"] = t.stats[0].runs;
    res["model_timed_seconds"] = std::round(t.seconds * 100) / 100;
    res["model_timed_threads"] = t.stats[0].threads;  // --threads, as for the accuracy pass
    res["machine_busy"] = load.busy();
  }
  res["count"] = r.count;
  res["dataset"] = ds->name();
  res["split"] = split;
  res["backend"] = model_backend_name(o.backend);
  res["quant"] = model->model().quant_name();
  if (o.backend == ModelBackend::kBitKernels) res["kernel_path"] = model->kernel_path();
  if (model->engine()) res["engine_weight_bytes"] = model->engine()->weight_bytes();
  res["batch_size"] = o.batch_size;
  res["threads"] = num_threads();
  res["ranks"] = comm::size();
  res["checkpoint"] = o.checkpoint;
  res["eval_settings"] = settings_from;
  res["config_source"] = model->model().config_source;
  res["class_map"] = class_map.fields(*opened);
  res["resize"] = dc.transform.resize;
  out.count = r.count;
  out.classes = r.num_classes;
  out.top1 = r.top1();
  out.top5 = r.top5();
  out.images_per_second = r.images_per_second();
  out.logits = std::move(r.logits);
  return out;
}

std::string result_fields_csv(const nlohmann::ordered_json& fields) {
  std::string head, row;
  for (auto& [k, v] : fields.items()) {
    head += (head.empty() ? "" : ",") + k;
    const std::string text = v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string cell = text;
    if (text.find_first_of(",\"\n\r") != std::string::npos) {  // RFC 4180: quoted, inner quotes doubled
      cell = "\"";
      for (char c : text) cell += c == '"' ? std::string("\"\"") : std::string(1, c);
      cell += "\"";
    }
    row += (row.empty() ? "" : ",") + cell;
  }
  return head + "\n" + row + "\n";
}

}  // namespace bb
