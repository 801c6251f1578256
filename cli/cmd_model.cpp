// bitbench model info | validate | predict: flags, and what each prints.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/json_reader.hpp"
#include "core/npy.hpp"
#include "core/threads.hpp"
#include "datasets/dataset_config.hpp"
#include "datasets/loader.hpp"
#include "datasets/transforms.hpp"
#include "eval/validate.hpp"
#include "models/checkpoint.hpp"
#include "models/packed.hpp"
#include "models/runnable_model.hpp"

namespace bb::cli {
namespace {


// --model PRESET or --model-config FILE (JSON object of ViT fields); neither = from the checkpoint.
std::optional<GivenConfig> model_config_from_flags(const std::string& preset, const std::string& config_file) {
  if (!preset.empty() && !config_file.empty()) throw Error::usage("give --model or --model-config, not both");
  if (!preset.empty()) return GivenConfig(vit_preset(preset), "--model " + preset);
  if (!config_file.empty()) {
    nlohmann::json j = parse_json_file(config_file);
    JsonReader r(j, config_file);
    return GivenConfig(read_vit_config(r), "--model-config " + config_file);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- model info

struct InfoArgs {
  std::string file, model, model_config;
  bool json = false;
};

nlohmann::json tensor_table_json(const SafetensorsFile& f) {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& info : f.tensors())
    t.push_back({{"name", info.name}, {"dtype", dtype_name(info.dtype)}, {"shape", info.shape}, {"numel", info.numel()}});
  return t;
}

void print_tensor_table(const SafetensorsFile& f) {
  size_t w = 4;
  for (const auto& t : f.tensors()) w = std::max(w, t.name.size());
  std::printf("\n%-*s  %-5s  %-18s  %10s\n", static_cast<int>(w), "name", "dtype", "shape", "numel");
  for (const auto& t : f.tensors())
    std::printf("%-*s  %-5s  %-18s  %10lld\n", static_cast<int>(w), t.name.c_str(), dtype_name(t.dtype),
                shape_str(t.shape).c_str(), static_cast<long long>(t.numel()));
}

// A checkpoint that states no config and whose shapes are no timm
// architecture's: everything the weights say, and that num_heads is unknown.
void print_unknown_heads(const InfoArgs& a, const SafetensorsFile& f, const ShapeInference& s) {
  int64_t params = 0;
  for (const auto& t : f.tensors()) params += t.numel();
  nlohmann::json cfg = to_json(s.config);
  cfg["num_heads"] = nullptr;
  const std::string note = "num_heads is not in the weights and the file does not state it: give --model PRESET or "
                           "--model-config FILE to run it" +
                           (s.hint.empty() ? std::string() : " (bitbench's preset " + s.hint + " has these shapes)");
  if (a.json) {
    nlohmann::json j = {{"file", a.file},        {"config", cfg},
                        {"config_source", "inferred; num_heads unknown"}, {"param_count", params},
                        {"file_bytes", std::filesystem::file_size(a.file)}, {"note", note},
                        {"metadata", f.metadata()}, {"tensors", tensor_table_json(f)}};
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::cout << "file         " << a.file << "\n";
  std::cout << "config       " << cfg.dump() << " (inferred from the shapes)\n";
  std::cout << "num_heads    unknown: " << note << "\n";
  std::printf("params       %lld (%.3f M)\n", static_cast<long long>(params), static_cast<double>(params) / 1e6);
  print_tensor_table(f);
}

void run_info(const InfoArgs& a) {
  SafetensorsFile f = SafetensorsFile::read(a.file);
  const std::optional<GivenConfig> given = model_config_from_flags(a.model, a.model_config);
  const auto own_meta = f.own_metadata();
  const bool packed = own_meta.count("format") && own_meta.at("format") == "bitbench-packed";
  if (!given && !packed && !states_vit_config(f))
    if (ShapeInference s = infer_from_shapes(f); s.heads_from.empty()) return print_unknown_heads(a, f, s);
  LoadedModel m = load_model(a.file, given);
  int64_t params = m.params.count();
  uint64_t file_bytes = std::filesystem::file_size(a.file);
  // A student's bytes as the bit-kernel engine holds them (its packed layout
  // plus the fp32 tensors it does not quantise), counted from the buffers.
  int64_t engine_bytes = 0;
  if (m.plan) engine_bytes = open_model(a.file, ModelBackend::kBitKernels, {given, std::nullopt})->weight_bytes_in_memory();
  if (a.json) {
    nlohmann::json j;
    j["file"] = a.file;
    j["config"] = to_json(m.params.cfg);
    j["config_source"] = m.config_source;
    j["param_count"] = params;
    j["file_bytes"] = file_bytes;
    j["fp32_bytes"] = params * 4;
    if (engine_bytes) j["engine_bytes"] = engine_bytes;
    j["quant"] = m.quant_name();
    j["metadata"] = f.metadata();
    j["tensors"] = tensor_table_json(f);
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::cout << "file         " << a.file << "\n";
  std::cout << "config       " << to_json(m.params.cfg).dump() << " (" << m.config_source << ")\n";
  std::cout << "tokens       " << m.params.cfg.tokens() << " (" << m.params.cfg.num_patches() << " patches + "
            << m.params.cfg.num_prefix() << " prefix)\n";
  std::printf("params       %lld (%.3f M)\n", static_cast<long long>(params), static_cast<double>(params) / 1e6);
  std::cout << "quant        " << m.quant_name() << (m.config_source == "packed" ? " (packed)" : m.plan ? " (latent weights, fake-quant forward)" : "") << "\n";
  if (m.plan) {  // the options that change the arithmetic around each BitLinear
    std::string opts;
    auto add = [&](bool on, const char* what) {
      if (on) opts += std::string(opts.empty() ? "" : ", ") + what;
    };
    add(m.plan->subln, "SubLN");
    add(m.plan->act_scale == ActScale::kAbsMean, "absmean activation steps");
    add(m.params.cfg.rsign, "RSign");
    add(m.params.cfg.rprelu, "RPReLU");
    add(m.params.cfg.bireal, "Bi-Real shortcut");
    if (!opts.empty()) std::cout << "bitlinear    " << opts << "\n";
    if (m.plan->attn_quantized())
      std::cout << "attention    q·kᵀ at " << act_format_name(m.plan->attn_qk) << ", attention·v at "
                << act_format_name(m.plan->attn_pv)
                << (m.params.cfg.attn_prob_scale ? " (learnable probability scale per head)" : "") << "\n";
  }
  if (engine_bytes)
    std::printf("bytes        %llu on disk, %lld in memory on bitkernels (packed codes + the fp32 rest; %lld as fp32)\n",
                static_cast<unsigned long long>(file_bytes), static_cast<long long>(engine_bytes),
                static_cast<long long>(params * 4));
  else
    std::printf("bytes        %llu on disk, %lld as fp32 in memory\n", static_cast<unsigned long long>(file_bytes),
                static_cast<long long>(params * 4));
  // bitbench's keys by their names; another tool's keys shown, marked as ignored.
  // (A file from before the namespace: all its keys are bitbench's.)
  const bool unprefixed_own = f.own_metadata() == f.metadata() && !f.metadata().empty();
  for (const auto& [k, v] : f.metadata()) {
    const bool own = unprefixed_own || k.rfind(kOwnMetadataPrefix, 0) == 0;
    const bool is_config = k == "config" || k == std::string(kOwnMetadataPrefix) + "config";
    if (is_config && (own || m.config_source == "metadata")) continue;  // printed above, as read
    std::cout << "metadata     " << k << " = " << (v.size() > 100 ? v.substr(0, 97) + "..." : v)
              << (own ? "" : "  (not bitbench's: ignored)") << "\n";
  }
  print_tensor_table(f);
}

// ---------------------------------------------------------------- validate

struct ValidateArgs {
  std::string dataset = "fashion-mnist", data_dir, split, label_file, synset_map;
  std::string checkpoint, model, model_config, backend = "onednn";
  int batch_size = 256, img_size = 0, workers = 1;
  double crop_pct = 0;
  std::string interpolation, resize;
  std::vector<double> mean, std;
  int64_t limit = 0, first = 0;
  double time_seconds = 1.0;
  std::string results_file, results_format, logits_out, class_map;
};

// --results-format when given, else the results file's extension (.csv: CSV), else JSON.
std::string results_format(const ValidateArgs& a) {
  if (!a.results_format.empty()) return a.results_format;
  std::string ext = std::filesystem::path(a.results_file).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".csv" ? "csv" : "json";
}

void run_validate(const ValidateArgs& a) {
  check_output_path(a.results_file, "--results-file");
  check_output_path(a.logits_out, "--logits-out");
  if (!a.logits_out.empty() && std::filesystem::path(a.logits_out).extension() != ".npy")
    throw Error::usage("--logits-out " + a.logits_out + ": logits are written in NumPy format; name a .npy file");
  ValidateOptions o;
  o.checkpoint = a.checkpoint;
  o.model_name = a.model;
  o.config = model_config_from_flags(a.model, a.model_config);
  o.backend = parse_model_backend(a.backend);
  o.data.dataset.name = a.dataset;
  o.data.dataset.data_dir = a.data_dir;
  o.data.dataset.label_file = a.label_file;
  o.data.dataset.synset_map = a.synset_map;
  o.data.dataset.class_map = a.class_map;
  o.data.transform.img_size = a.img_size;
  o.data.transform.crop_pct = a.crop_pct;
  o.data.transform.interpolation = a.interpolation;  // empty: the model's eval setting, else bilinear
  if (!a.resize.empty()) o.data.transform.resize = a.resize;
  o.data.transform.mean = a.mean;
  o.data.transform.std = a.std;
  o.split = a.split;
  o.batch_size = a.batch_size;
  o.workers = a.workers;
  if (a.limit && a.first) throw Error::usage("give --limit or --first, not both");
  o.limit = a.first ? a.first : a.limit;
  o.first = a.first > 0;
  o.keep_logits = !a.logits_out.empty();
  o.time_seconds = a.time_seconds;
  const ValidateResult r = run_validation(o);
  if (!comm::is_root()) return;  // rank 0 writes and prints the merged result

  // Everything is rendered before anything is written. JSON is UTF-8: a byte
  // sequence that is not (a file name) is written as U+FFFD rather than failing.
  const std::string fields_json = r.fields.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const std::string results = results_format(a) == "csv" ? result_fields_csv(r.fields) : fields_json;
  if (!a.logits_out.empty()) write_npy(a.logits_out, {r.count, static_cast<int64_t>(r.classes)}, r.logits.data());
  if (!a.results_file.empty()) write_file_atomic(a.results_file, results);
  std::printf(" * Acc@1 %.3f (%.3f)  Acc@5 %.3f (%.3f)  on %lld images, %.1f images/s (%s, %d threads)\n", r.top1,
              100 - r.top1, r.top5, 100 - r.top5, static_cast<long long>(r.count), r.images_per_second,
              model_backend_name(o.backend), num_threads());
  if (r.timed_seconds > 0)
    std::printf("   model alone (forward on a preloaded batch of %d, %d threads): %.1f images/s, timed %.1f s\n",
                a.batch_size, num_threads(), r.model_images_per_second, r.timed_seconds);
  if (r.machine_busy)
    std::fprintf(stderr,
                 "bitbench: warning: the machine was busy while timing (other processes took %.2f cores on average); "
                 "images/s are less trustworthy\n",
                 r.other_cpu_cores);
  std::cout << fields_json;
}

// ---------------------------------------------------------------- predict

struct PredictArgs {
  std::string checkpoint, model, model_config, dataset;
  std::vector<std::string> images;
  int top = 5;
};

void run_predict(const PredictArgs& a) {
  std::unique_ptr<RunnableModel> model =
      open_model(a.checkpoint, ModelBackend::kOnednn, {model_config_from_flags(a.model, a.model_config), std::nullopt});
  const LoadedModel& m = model->model();
  const ViTConfig& mc = m.params.cfg;
  // Preprocessing and class names: the checkpoint's data set when it names one, else --dataset, else ImageNet's.
  std::string ds_name = a.dataset;
  if (ds_name.empty() && m.metadata.count("dataset")) ds_name = m.metadata.at("dataset");
  if (ds_name.empty()) ds_name = "imagenet";
  DataConfig dc;
  dc.dataset.name = ds_name;
  dc.transform.img_size = mc.img_size;
  dc.transform.in_chans = mc.in_chans;
  dc.transform.interpolation.clear();
  apply_model_eval_settings(dc.transform, a.model, m.metadata, a.checkpoint, mc.in_chans);
  resolve(dc);
  // A data set's names only when they fit the model's classes (a 10-class
  // model without names gets class numbers, not ImageNet's first ten).
  std::vector<std::string> names = checkpoint_class_names(m.metadata, a.checkpoint, mc.num_classes);
  if (names.empty()) names = dataset_preset(ds_name).class_names;
  if (names.size() != static_cast<size_t>(mc.num_classes)) names.clear();
  // Every image is decoded; one that cannot be is named at the end, and the
  // others are still classified (exit 2 when any failed).
  const int64_t per = static_cast<int64_t>(mc.in_chans) * mc.img_size * mc.img_size;
  std::vector<std::string> good, failed;
  std::vector<float> pixels;
  for (const std::string& path : a.images) {
    try {
      std::vector<float> x(static_cast<size_t>(per));
      eval_transform_file(path, dc.transform, x.data());  // decode and resize within the image budget, errors naming the file
      pixels.insert(pixels.end(), x.begin(), x.end());
      good.push_back(path);
    } catch (const Error& e) {
      failed.push_back(e.what());
    }
  }
  const int64_t n = static_cast<int64_t>(good.size());
  const int K = mc.num_classes;
  if (n > 0) {
    Tensor x(Shape{n, mc.in_chans, mc.img_size, mc.img_size});
    std::copy(pixels.begin(), pixels.end(), x.data());
    TensorView logits = model->forward(x.view());
    for (int64_t i = 0; i < n; ++i) {
      const float* l = logits.data() + i * K;
      float mx = *std::max_element(l, l + K);
      std::vector<double> p(static_cast<size_t>(K));
      double sum = 0;
      for (int k = 0; k < K; ++k) sum += p[static_cast<size_t>(k)] = std::exp(static_cast<double>(l[k] - mx));
      std::vector<int> order(static_cast<size_t>(K));
      for (int k = 0; k < K; ++k) order[static_cast<size_t>(k)] = k;
      int top = std::min(a.top, K);
      std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](int u, int v) { return l[u] > l[v]; });
      std::cout << good[static_cast<size_t>(i)] << "\n";
      for (int r = 0; r < top; ++r) {
        int k = order[static_cast<size_t>(r)];
        std::string name = static_cast<size_t>(k) < names.size() ? names[static_cast<size_t>(k)] : std::to_string(k);
        std::printf("  %d. %-20s %6.2f%%  (class %d)\n", r + 1, name.c_str(), 100 * p[static_cast<size_t>(k)] / sum, k);
      }
    }
    std::cout.flush();
    std::fflush(stdout);
  }
  if (!failed.empty()) {
    std::string msg = std::to_string(failed.size()) + " of " + std::to_string(a.images.size()) +
                      " images could not be read (the others are classified above): ";
    for (size_t i = 0; i < failed.size(); ++i) msg += (i ? "; " : "") + failed[i];
    throw Error::usage(msg);
  }
}

void add_model_source(CLI::App* c, std::string& checkpoint, std::string& model, std::string& model_config) {
  c->add_option("--checkpoint", checkpoint, "timm-named safetensors checkpoint")->required();
  c->add_option("--model", model, "Model preset (timm name): its config, over anything in the checkpoint, and timm's eval settings for it");
  c->add_option("--model-config", model_config, "JSON file with the ViT config fields");
}

}  // namespace

void add_model_commands(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Inspect model checkpoints");
  model->require_subcommand(1);
  static InfoArgs info;
  auto* i = model->add_subcommand("info", "Config, parameter count, bytes and per-tensor table of a checkpoint");
  i->add_option("FILE", info.file, "safetensors checkpoint")->required();
  i->add_flag("--json", info.json, "Print as JSON");
  i->add_option("--model", info.model, "Model preset (timm name) for a file that does not state its config");
  i->add_option("--model-config", info.model_config, "JSON file with the ViT config fields, for a file that does not state its config");
  i->callback([] { run_info(info); });

  static ValidateArgs v;
  auto* val = app.add_subcommand("validate", "Top-1/top-5 of a checkpoint on a data set (modelled on timm's validate.py)");
  val->add_option("--dataset", v.dataset, "Data set")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10", "cifar100", "imagefolder", "imagenet"}))
      ->capture_default_str();
  val->add_option("--data-dir", v.data_dir, "Directory holding the data set");
  val->add_option("--split", v.split, "Split (default: the data set's evaluation split)")
      ->check(CLI::IsMember({"train", "test", "val"}));
  val->add_option("--label-file", v.label_file, "ImageNet flat val: val_map.txt or LOC_val_solution.csv");
  val->add_option("--synset-map", v.synset_map, "ImageNet: LOC_synset_mapping.txt");
  val->add_option("--class-map", v.class_map,
                  "Which model class each label is: a file with the model's class names, one per line in class-index "
                  "order (as timm's; a line's first word also matches, as in LOC_synset_mapping.txt), or by-index "
                  "(label i is class i). Default: an ImageFolder's folders matched to the checkpoint's class names; "
                  "refused when they cannot be");
  add_model_source(val, v.checkpoint, v.model, v.model_config);
  val->add_option("-b,--batch-size", v.batch_size, "Batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  val->add_option("--img-size", v.img_size, "Input size (default: the model's)")->check(CLI::Range(1, 8192));
  val->add_option("--crop-pct", v.crop_pct, "Center crop fraction (default: the model's timm eval setting, else its checkpoint's, else the data set's)")->check(CLI::Range(0.01, 1.0));
  val->add_option("--interpolation", v.interpolation, "Resize kernel (default: the model's timm eval setting, else its checkpoint's, else bilinear; area: --resize opencv only)")
      ->check(CLI::IsMember({"bilinear", "bicubic", "nearest", "box", "hamming", "lanczos", "area"}));
  val->add_option("--resize", v.resize, "pillow (default): Pillow's resize byte for byte, as timm's eval; opencv: cv::resize (OpenCV's kernels for speed comparisons; not timm's numbers)")
      ->check(CLI::IsMember({"pillow", "opencv"}));
  val->add_option("--mean", v.mean, "Per-channel mean, 1 or 3 values (default: the model's timm eval setting, else its checkpoint's, else the data set's)")->expected(1, 3)->check(CLI::Range(-1e6, 1e6));
  val->add_option("--std", v.std, "Per-channel std, 1 or 3 values (default: as --mean)")->expected(1, 3)->check(CLI::PositiveNumber);
  val->add_option("--limit", v.limit, "Evaluate a seeded random subset of N images, spread over the whole set (0 = all)")->check(CLI::NonNegativeNumber);
  val->add_option("--first", v.first, "Evaluate the first N images in file order (as reference dumps take them), not a random subset")->check(CLI::NonNegativeNumber);
  val->add_option("--workers", v.workers, "Loader threads")->check(CLI::Range(0, 256))->capture_default_str();
  {
    // Names and help from the backends' table (kernels/model_backend.hpp); parsed once in validate().
    std::string help = "Backend:";
    std::vector<std::string> names;
    for (const ModelBackendRow& r : model_backends()) {
      help += std::string(names.empty() ? " " : "; ") + r.name + ": " + r.description;
      names.push_back(r.name);
    }
    val->add_option("--backend", v.backend, help)->check(CLI::IsMember(names))->capture_default_str();
  }
  val->add_option("--time-seconds", v.time_seconds, "Then time the model alone (forward on a preloaded batch, as `bitbench run` does) for this long; 0 = skip")
      ->check(CLI::Range(0.0, 3600.0))->capture_default_str();
  val->add_option("--results-file", v.results_file, "Write the result fields to this file");
  val->add_option("--results-format", v.results_format, "json or csv (default: the --results-file extension, .csv for CSV, else JSON)")
      ->check(CLI::IsMember({"json", "csv"}));
  val->add_option("--logits-out", v.logits_out, "Write logits [N, classes] float32 as a NumPy .npy file");
  val->callback([] { run_validate(v); });

  static PredictArgs p;
  auto* pr = app.add_subcommand("predict", "Top classes with probabilities for image files");
  add_model_source(pr, p.checkpoint, p.model, p.model_config);
  pr->add_option("--dataset", p.dataset, "Data set whose preprocessing and class names apply (default: the checkpoint's, else imagenet)")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10", "cifar100", "imagefolder", "imagenet"}));
  pr->add_option("--top", p.top, "Classes to show")->check(CLI::Range(1, 100))->capture_default_str();
  pr->add_option("IMAGE", p.images, "JPEG or PNG files")->required();
  pr->callback([] { run_predict(p); });
}

}  // namespace bb::cli
