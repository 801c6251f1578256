#include "models/packed.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "models/checkpoint.hpp"
#include "models/quant_plan_json.hpp"
#include "models/safetensors.hpp"

namespace bb {
namespace {

// The Linears the plan quantises, by weight name.
std::map<std::string, PlannedLinear> planned_weights(const ViTConfig& c, const QuantPlan& plan) {
  std::map<std::string, PlannedLinear> m;
  for (PlannedLinear& l : plan_linears(c, plan))
    if (l.spec.w != WeightFormat::kF32) m.emplace(l.name, std::move(l));
  return m;
}

// The quant plan a file's metadata bitbench.quant records; Error(Input) naming the file otherwise.
QuantPlan plan_from_metadata(const std::string& text, const std::string& path, int depth) {
  const nlohmann::json j = parse_json_text(text, path + " (metadata bitbench.quant)");  // names file and key
  try {
    return quant_plan_from_json(j, depth, path, "/__metadata__/bitbench.quant");
  } catch (const nlohmann::json::exception& e) {  // errors of the schema name the file and key themselves
    throw Error::input(path, std::string("metadata bitbench.quant is malformed: ") + e.what());
  }
}

// The storage tag (the weight-format row's storage name: "tq1", "tq1r", ...)
// that metadata bitbench.packing records for each packed tensor; empty where
// the file has no such entry.
std::map<std::string, std::string> packing_tags(const std::map<std::string, std::string>& meta, const std::string& path) {
  std::map<std::string, std::string> tags;
  auto it = meta.find("packing");
  if (it == meta.end()) return tags;
  const nlohmann::json j = parse_json_text(it->second, path + " (metadata bitbench.packing)");
  if (!j.is_object()) throw Error::input(path, "metadata bitbench.packing is not an object");
  for (const auto& [name, e] : j.items())
    if (e.is_object() && e.contains("format") && e["format"].is_string()) tags[name] = e["format"].get<std::string>();
  return tags;
}

}  // namespace

void write_packed_student(const std::string& path, const ViTParams& p, const QuantPlan& plan,
                          const std::map<std::string, std::string>& extra_metadata) {
  const auto planned = planned_weights(p.cfg, plan);
  std::vector<TensorToWrite> out;
  std::vector<std::vector<uint8_t>> bytes;  // keeps packed data alive until written
  std::vector<std::vector<float>> scales;
  bytes.reserve(planned.size());
  scales.reserve(planned.size());
  nlohmann::json packing = nlohmann::json::object();
  for (const auto& e : p.entries) {
    auto it = planned.find(e.name);
    if (it == planned.end()) {
      out.push_back({e.name, e.shape, DType::F32, p.data(e)});
      continue;
    }
    const PlannedLinear& l = it->second;
    const int64_t N = l.N, K = l.K;
    const WeightFormatTraits& wt = weight_traits(l.spec.w);
    std::vector<int8_t> codes(static_cast<size_t>(N * K));
    scales.emplace_back(static_cast<size_t>(wt.per_row ? N : 1));
    wt.codes(p.data(e), N, K, codes.data(), scales.back().data());
    const int64_t rb = row_bytes(wt, K);
    bytes.emplace_back(static_cast<size_t>(N * rb));
    for (int64_t n = 0; n < N; ++n) wt.pack(codes.data() + n * K, K, bytes.back().data() + n * rb);
    out.push_back({e.name, {N, rb}, DType::U8, bytes.back().data()});
    out.push_back({e.name + ".scale", {static_cast<int64_t>(scales.back().size())}, DType::F32, scales.back().data()});
    packing[e.name] = {{"format", wt.storage}, {"shape", {N, K}}, {"spec", l.spec.name()}};
  }
  std::map<std::string, std::string> meta = extra_metadata;
  meta["format"] = "bitbench-packed";
  meta["config"] = to_json(p.cfg).dump();
  meta["num_heads"] = std::to_string(p.cfg.num_heads);
  meta["quant"] = to_json(plan).dump();
  meta["packing"] = packing.dump();
  write_safetensors(path, out, namespaced_metadata(meta));
}

PackedStudent read_packed_student(const std::string& path) { return read_packed_student(SafetensorsFile::read(path)); }

PackedStudent read_packed_student(const SafetensorsFile& f) {
  const std::string& path = f.path();
  const auto meta = f.own_metadata();
  auto need = [&](const char* key) -> const std::string& {
    auto it = meta.find(key);
    if (it == meta.end()) throw Error::input(path, std::string("not a packed bitbench student (no metadata bitbench.") + key + ")");
    return it->second;
  };
  if (need("format") != "bitbench-packed") throw Error::input(path, "not a packed bitbench student (format is \"" + need("format") + "\")");
  nlohmann::json cj = parse_json_text(need("config"), path + " (metadata bitbench.config)");
  JsonReader cr(cj, path, "/__metadata__/bitbench.config");
  ViTConfig cfg = read_vit_config(cr);
  QuantPlan plan = plan_from_metadata(need("quant"), path, cfg.depth);
  plan.weights_quantized = true;
  const auto planned = planned_weights(cfg, plan);
  const auto tags = packing_tags(meta, path);
  // Every tensor is checked against the layout before anything is allocated
  // for it: a config that lies about the model's size is refused while memory
  // is still bounded by the tensors the file holds.
  for (const auto& e : vit_param_layout(cfg)) {
    const TensorInfo* t = f.find(e.name);
    if (!t) throw Error::input(path, "tensor " + e.name + " is missing");
    auto it = planned.find(e.name);
    if (it == planned.end()) {
      if (t->shape != e.shape) throw Error::input(path, "tensor " + e.name + " is " + shape_str(t->shape) + ", expected " + shape_str(e.shape));
      continue;
    }
    const int64_t N = it->second.N, K = it->second.K;
    const WeightFormatTraits& wt = weight_traits(it->second.spec.w);
    const int64_t rb = row_bytes(wt, K), ns = wt.per_row ? N : 1;
    // The recorded tag names a row of the format table, the one the plan's spec gives (tq1 and tq1r share
    // their bytes, not their scales).
    if (auto tag = tags.find(e.name); tag != tags.end() && tag->second != wt.storage) {
      try {
        weight_traits_by_storage(tag->second);
      } catch (const Error& err) {
        throw Error::input(path, "packed tensor " + e.name + ": " + err.what());
      }
      throw Error::input(path, "packed tensor " + e.name + " is stored as " + tag->second + " but its spec " +
                                   it->second.spec.name() + " stores " + wt.storage);
    }
    if (t->dtype != DType::U8 || t->shape != std::vector<int64_t>{N, rb})
      throw Error::input(path, "packed tensor " + e.name + " is " + dtype_name(t->dtype) + " " + shape_str(t->shape) +
                                   ", expected U8 " + shape_str({N, rb}) + " (" + wt.storage + ")");
    const TensorInfo* st = f.find(e.name + ".scale");
    if (!st || st->shape != std::vector<int64_t>{ns}) throw Error::input(path, "scale tensor " + e.name + ".scale is missing or not [" + std::to_string(ns) + "]");
  }
  PackedStudent s{ViTParams(cfg), plan, {}, meta, 0, 0};
  for (const auto& e : s.params.entries) {
    const TensorInfo* t = f.find(e.name);
    auto it = planned.find(e.name);
    if (it == planned.end()) {
      f.to_f32(*t, s.params.data(e));
      s.fp32_bytes += e.numel * 4;
      continue;
    }
    const int64_t N = it->second.N, K = it->second.K;
    const WeightFormatTraits& wt = weight_traits(it->second.spec.w);
    const int64_t rb = row_bytes(wt, K), ns = wt.per_row ? N : 1;
    const TensorInfo* st = f.find(e.name + ".scale");
    PackedLayer layer{e.name, wt.format, N, K, std::vector<int8_t>(static_cast<size_t>(N * K)), f.to_f32(*st)};
    const uint8_t* raw = f.raw(*t);
    for (int64_t n = 0; n < N; ++n) wt.unpack(raw + n * rb, K, layer.codes.data() + n * K);
    float* w = s.params.data(e);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) w[n * K + k] = static_cast<float>(layer.codes[n * K + k]) * layer.scales[wt.per_row ? n : 0];
    s.packed_bytes += N * rb + ns * 4;
    s.layers.push_back(std::move(layer));
  }
  return s;
}

LoadedModel load_model(const std::string& path, const std::optional<GivenConfig>& given) {
  return load_model(SafetensorsFile::read(path), given);
}

LoadedModel load_model(const SafetensorsFile& f, const std::optional<GivenConfig>& given) {
  const std::string& path = f.path();
  const auto meta = f.own_metadata();
  if (auto it = meta.find("format"); it != meta.end() && it->second == "bitbench-packed") {
    PackedStudent s = read_packed_student(f);  // the bytes already read: the file is read once
    if (given) refuse_contradiction(s.params.cfg, *given, path);  // a packed file always states its config
    return {std::move(s.params), s.plan, s.metadata, "packed", std::move(s.layers)};
  }
  LoadedViT m = load_vit(f, given);
  LoadedModel out{std::move(m.params), std::nullopt, m.metadata, m.config_source, {}};
  const ViTConfig& c = out.params.cfg;
  const bool inferred = m.config_source.rfind("inferred", 0) == 0;
  if (auto it = m.metadata.find("quant"); it != m.metadata.end()) {
    // A student's options around each BitLinear (bireal has no tensor) are in its config, not its weights.
    if (inferred)
      throw Error::input(path, "has a quant plan (metadata bitbench.quant) but no bitbench.config: a student's "
                               "options around its BitLinears are not in the weights; give its config with --model-config");
    out.plan = plan_from_metadata(it->second, path, c.depth);
  } else if (m.config_source != "metadata" && (c.rsign || c.rprelu || c.attn_prob_scale)) {
    // Without its plan, a student's latent weights would run as an fp32 model: a number for a model nobody trained.
    throw Error::input(path, "holds a BitNet student's extra tensors (RSign/RPReLU/attention scale) but no quant plan "
                             "(metadata bitbench.quant and bitbench.config are missing; was it re-saved by another tool?)");
  }
  return out;
}

}  // namespace bb
