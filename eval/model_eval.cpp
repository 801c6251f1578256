#include "eval/model_eval.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "datasets/loader.hpp"
#include "eval/energy_model.hpp"
#include "eval/evaluator.hpp"
#include "measure/classification_metrics.hpp"
#include "measure/environment.hpp"
#include "models/runnable_model.hpp"
#include "reports/report_record.hpp"

namespace bb {
namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }

}  // namespace

std::unique_ptr<RunnableModel> open_model_under_test(const ModelUnderTest& m, const DataConfig& data, const Dataset& ds,
                                                     ModelFiles* files) {
  LoadedModel lm = files ? files->copy(m.path, m.given_config) : load_model(m.path, m.given_config);
  const ViTConfig& mc = lm.params.cfg;
  if (mc.img_size != data.transform.img_size || mc.in_chans != data.transform.in_chans)
    throw Error::input(m.path, "expects " + std::to_string(mc.in_chans) + "x" + std::to_string(mc.img_size) +
                                   " inputs, the config's data gives " + std::to_string(data.transform.in_chans) +
                                   "x" + std::to_string(data.transform.img_size));
  if (ds.num_classes() > mc.num_classes)
    throw Error::input(m.path, "has " + std::to_string(mc.num_classes) + " classes, the data set " +
                                   std::to_string(ds.num_classes()));
  if (m.role == "student" && !lm.plan) throw Error::input(m.path, "is an fp32 model, not a BitNet student");
  std::optional<QuantPlan> ptq;
  if (m.ptq) ptq = QuantPlan::uniform(mc.depth, parse_quant_spec("W8A8"));
  return std::make_unique<RunnableModel>(std::move(lm), m.backend, m.path, ptq);
}

nlohmann::ordered_json evaluate_model(const ModelUnderTest& m, const ModelEvalContext& ctx, std::vector<float>& logits_out) {
  using ojson = nlohmann::ordered_json;
  const BenchConfig& cfg = *ctx.cfg;
  const DataConfig& data = cfg.run.data;
  const bool root = comm::is_root();
  reset_peak_rss();  // freed heap back to the system first
  const int64_t rss_start = current_rss_bytes();  // the process before this evaluation loads anything
  std::unique_ptr<RunnableModel> model = open_model_under_test(m, data, *ctx.dataset, ctx.files);
  // The peak from here on: the model as loaded and packed is resident, its load transients are not counted.
  const bool rss_reset = reset_peak_rss();

  // Accuracy and fidelity on the eval split.
  LoaderOptions lo;
  lo.batch_size = cfg.run.loader.eval_batch_size;
  lo.workers = cfg.run.loader.workers;
  lo.prefetch = cfg.run.loader.prefetch;
  lo.limit = ctx.limit;
  lo.seed = cfg.run.seed;
  lo.rank = comm::rank();  // a contiguous shard per rank; evaluate() gathers on rank 0
  lo.ranks = comm::size();
  Loader loader(*ctx.dataset, data.transform, data.augment, lo);
  EvalResult r = evaluate([&](const TensorView& x) { return model->forward(x); }, loader, true,
                          "eval " + m.name + "/" + model_backend_name(m.backend));
  const int K = r.num_classes;
  // Logits beyond the data set's classes (a 1000-class head on a 10-class set) are kept; metrics use all K.
  const float* teacher = m.role != "teacher" && ctx.teacher_logits && ctx.teacher_logits->size() == r.logits.size()
                             ? ctx.teacher_logits->data()
                             : nullptr;
  ClassificationMetrics cm;
  if (root) cm = classification_metrics(r.logits.data(), r.labels.data(), r.count, K, teacher);
  const int64_t arena = model->arena_floats() * 4;

  if (!root) return ojson();  // rank 0 writes the entry
  const int64_t rss = peak_rss_bytes();

  // Memory: what the weights take on disk and as this backend holds them.
  const QuantPlan* plan = model->plan();
  const int64_t params = model->model().params.count();
  const int64_t quantized = plan ? quantized_weight_count(model->model().params, *plan) : 0;
  const int64_t disk = m.ptq ? 0 : static_cast<int64_t>(std::filesystem::file_size(m.path));
  const int64_t memory = model->weight_bytes_in_memory();
  // W1.58A8 → 1.58; a per-layer plan: its quantised Linears' bits weighted by their weights.
  double nominal = 32.0;
  if (plan && quantized) {
    double bits = 0;
    for (const PlannedLinear& l : plan_linears(model->model().params.cfg, *plan))
      if (l.spec.w != WeightFormat::kF32) bits += weight_traits(l.spec.w).bits * static_cast<double>(l.N * l.K);
    nominal = round_to(bits / static_cast<double>(quantized), 0.01);
  } else if (plan) {
    nominal = round_to(weight_traits(plan->spec.w).bits, 0.01);
  }
  const IntModel* engine = model->engine();
  ModelEntry e;
  e.name = m.name;
  e.role = m.role;
  e.precision = model->precision();
  e.backend = model_backend_name(m.backend);
  e.kernel_path = model->kernel_path();
  e.checkpoint = m.path;
  e.params = params;
  e.quantized_params = quantized;
  // Bits per quantised weight as held: an integer engine's buffers, or the fp32
  // latent weights of a fake-quant forward (32, whatever the nominal format).
  e.bits_per_weight.nominal = nominal;
  e.bits_per_weight.quantized_layers_memory =
      !quantized ? nominal
      : engine   ? round_to(8.0 * static_cast<double>(engine->weight_bytes()) / static_cast<double>(quantized), 1e-3)
                 : 32.0;
  e.bits_per_weight.model_memory = round_to(8.0 * static_cast<double>(memory) / static_cast<double>(params), 1e-3);
  e.bits_per_weight.model_disk = disk ? round_to(8.0 * static_cast<double>(disk) / static_cast<double>(params), 1e-3) : 0.0;
  e.weight_bytes = {disk, memory};
  e.size_bytes = disk ? disk : memory;
  e.activation_bytes = arena;
  // This model's own peak: how far the process's resident set rose above what
  // it held before the model was opened (its weights as held after loading,
  // arena, loader batches, kernel scratch; the peak is reset after loading, so
  // loading's transients are not counted). The process's own figures beside
  // it grow from model to model (the data set, libraries, the teacher's
  // logits and whatever earlier evaluations left resident), which is why they
  // are not a model's figure.
  e.model_peak_rss_bytes = rss_reset ? std::max<int64_t>(0, rss - rss_start) : rss;
  e.process_rss_before_bytes = rss_start;
  e.process_peak_rss_bytes = rss;
  e.peak_rss_scope = rss_reset ? "this evaluation" : "process";
  e.accuracy.count = cm.count;
  e.accuracy.top1 = round_to(cm.top1, 1e-4);
  e.accuracy.top5 = round_to(cm.top5, 1e-4);
  e.accuracy.macro_f1 = round_to(cm.macro_f1, 1e-4);
  e.accuracy.per_class = {cm.per_class_accuracy.begin(), cm.per_class_accuracy.end()};
  for (int c = 0; c < K; ++c)
    e.accuracy.confusion.emplace_back(cm.confusion.begin() + c * K, cm.confusion.begin() + (c + 1) * K);
  if (cm.has_teacher) e.fidelity = Fidelity{round_to(cm.agreement, 1e-4), cm.kl_teacher};
  e.eval_seconds = round_to(r.seconds, 1e-3);
  // Energy as this backend computes: integer backends on the plan's codes
  // (oneDNN int8 multiplying every pair), the others in fp32 whatever the plan.
  const bool integer = model_backend_row(m.backend).integer;
  e.energy_model = to_json(estimate_energy(model->model().params.cfg, integer ? plan : nullptr, memory,
                                           m.backend == ModelBackend::kOnednnInt8));
  // A searched student's sensitivity record (eval/precision_search.hpp), for the report's heat map.
  if (auto it = model->model().metadata.find("search"); it != model->model().metadata.end())
    e.search = nlohmann::ordered_json(parse_json_text(it->second, m.path + " (bitbench.search)"));
  logits_out = std::move(r.logits);
  return ojson(e);  // report.json's entry, as ModelEntry writes it
}

}  // namespace bb
