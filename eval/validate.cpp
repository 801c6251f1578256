#include "eval/validate.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "datasets/loader.hpp"
#include "eval/evaluator.hpp"
#include "eval/latency_rounds.hpp"
#include "eval/latency_sweep.hpp"
#include "eval/machine_load.hpp"

namespace bb {

ValidateResult run_validation(const ValidateOptions& o) {
  std::unique_ptr<RunnableModel> model = open_model(o.checkpoint, o.backend, {o.config, std::nullopt});
  const ViTConfig& mc = model->config();

  DataConfig dc = o.data;
  if (!dc.transform.img_size) dc.transform.img_size = mc.img_size;
  dc.transform.in_chans = mc.in_chans;
  resolve(dc);
  if (dc.transform.img_size != mc.img_size)
    throw Error::usage("--img-size " + std::to_string(dc.transform.img_size) + " differs from the model's " +
                       std::to_string(mc.img_size) + " (position embeddings are not resampled)");
  for (auto* v : {&dc.transform.mean, &dc.transform.std})
    if (v->size() != static_cast<size_t>(mc.in_chans))
      throw Error::usage("--mean/--std need " + std::to_string(mc.in_chans) + " values for this model");
  const std::string split = o.split.empty() ? dc.dataset.eval_split : o.split;
  auto ds = open_dataset(dc.dataset, split);
  if (ds->num_classes() > mc.num_classes)
    throw Error::input(o.checkpoint, "model has " + std::to_string(mc.num_classes) + " classes, the data set " +
                                         std::to_string(ds->num_classes()));

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
    std::string cell = v.is_string() ? v.get<std::string>() : v.dump();
    if (cell.find_first_of(",\"") != std::string::npos) cell = "\"" + cell + "\"";
    row += (row.empty() ? "" : ",") + cell;
  }
  return head + "\n" + row + "\n";
}

}  // namespace bb
