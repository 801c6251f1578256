#include "models/checkpoint.hpp"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace bb {
namespace {

// The config text a file states: bitbench's own ("bitbench.config", or
// "config" in a bitbench file from before the namespace), else an unprefixed
// "config" of a foreign file when it reads as a bitbench ViT config (files
// converted by hand as docs/MODELS.md showed, and the shared reference
// fixtures). A foreign "config" of another schema is somebody else's: ignored.
std::optional<std::string> stated_config_text(const SafetensorsFile& f, const std::map<std::string, std::string>& own) {
  if (auto it = own.find("config"); it != own.end()) return it->second;
  if (!own.empty()) return std::nullopt;
  auto it = f.metadata().find("config");
  if (it == f.metadata().end()) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    JsonReader r(j, f.path(), "/__metadata__/config");
    (void)read_vit_config(r);
  } catch (const Error&) {
    return std::nullopt;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace

bool states_vit_config(const SafetensorsFile& f) { return stated_config_text(f, f.own_metadata()).has_value(); }

ShapeInference infer_from_shapes(const SafetensorsFile& f) {
  auto need = [&](const std::string& name, size_t rank) -> const TensorInfo& {
    const TensorInfo* t = f.find(name);
    if (!t) throw Error::input(f.path(), "cannot infer the model config: no tensor " + name + " (is this a timm ViT?)");
    if (t->shape.size() != rank)
      throw Error::input(f.path(), "cannot infer the model config: " + name + " has shape " + shape_str(t->shape));
    return *t;
  };
  ViTConfig c;
  const auto& pw = need("patch_embed.proj.weight", 4);
  c.embed_dim = static_cast<int>(pw.shape[0]);
  c.in_chans = static_cast<int>(pw.shape[1]);
  c.patch_size = static_cast<int>(pw.shape[2]);
  c.class_token = f.find("cls_token") != nullptr;
  c.distilled = f.find("dist_token") != nullptr;
  // bitbench's two layouts differ here: token pooling has `norm`, average pooling `fc_norm` (timm's default).
  c.global_pool = f.find("fc_norm.weight") ? "avg" : "token";
  const auto& pos = need("pos_embed", 3);
  int64_t patches = pos.shape[1] - c.num_prefix();
  int64_t g = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(std::max<int64_t>(patches, 0)))));
  if (g * g != patches) throw Error::input(f.path(), "cannot infer img_size: pos_embed holds " + std::to_string(patches) + " patch positions, not a square");
  c.img_size = static_cast<int>(g * c.patch_size);
  int depth = 0;
  while (f.find("blocks." + std::to_string(depth) + ".attn.qkv.weight")) ++depth;
  c.depth = depth;
  if (depth > 0) c.mlp_hidden = static_cast<int>(need("blocks.0.mlp.fc1.weight", 2).shape[0]);
  c.qkv_bias = f.find("blocks.0.attn.qkv.bias") != nullptr;
  c.rsign = f.find("blocks.0.attn.qkv.act_shift") != nullptr;
  c.rprelu = f.find("blocks.0.attn.qkv.rprelu_slope") != nullptr;
  c.attn_prob_scale = f.find("blocks.0.attn.prob_scale") != nullptr;
  c.num_classes = static_cast<int>(need("head.weight", 2).shape[0]);

  // num_heads (and ln_eps) are not in the weights: the file's own word, else
  // timm's table for an architecture of exactly these shapes; never a rule of thumb.
  ShapeInference out{c, "", ""};
  const auto meta = f.own_metadata();
  if (auto it = meta.find("num_heads"); it != meta.end()) {
    char* end = nullptr;
    const long h = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || h < 1 || h > 4096)
      throw Error::input(f.path(), "metadata bitbench.num_heads \"" + it->second + "\" is not a head count");
    out.config.num_heads = static_cast<int>(h);
    out.heads_from = "metadata bitbench.num_heads";
  } else if (std::optional<std::string> cfg = stated_config_text(f, meta)) {
    const nlohmann::json j = nlohmann::json::parse(*cfg, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("num_heads") && j["num_heads"].is_number_integer() && j["num_heads"].get<int64_t>() > 0 &&
        j["num_heads"].get<int64_t>() <= 4096) {
      out.config.num_heads = static_cast<int>(j["num_heads"].get<int64_t>());
      out.heads_from = "metadata config";
    }
  }
  if (out.heads_from.empty()) {
    const std::vector<std::string> timm = presets_with_shapes(c, /*timm_only=*/true);
    if (!timm.empty()) {
      out.config.num_heads = vit_preset(timm[0]).num_heads;  // every timm ViT of one shape has the same head count
      out.config.ln_eps = 1e-6;                              // timm's ViT and DeiT LayerNorm
      out.heads_from = "timm's table (" + timm[0] + ")";
    } else if (const std::vector<std::string> own = presets_with_shapes(c, false); !own.empty()) {
      out.hint = own[0];
    }
  }
  return out;
}

ViTConfig infer_vit_config(const SafetensorsFile& f) {
  ShapeInference s = infer_from_shapes(f);
  if (s.heads_from.empty()) {
    const ViTConfig& c = s.config;
    std::string msg = "cannot tell num_heads: the file states no config (no bitbench.config or bitbench.num_heads "
                      "metadata) and its shapes (patch " + std::to_string(c.patch_size) + ", embed_dim " +
                      std::to_string(c.embed_dim) + ", depth " + std::to_string(c.depth) + ", mlp_hidden " +
                      std::to_string(c.mlp_hidden) + ") are no timm architecture's; give --model PRESET or "
                      "--model-config FILE with \"num_heads\" (in a run config: /teacher/model)";
    if (!s.hint.empty())
      msg += "; bitbench's preset " + s.hint + " has these shapes and " + std::to_string(vit_preset(s.hint).num_heads) +
             " heads, if that is what it is";
    throw Error::input(f.path(), msg);
  }
  check(s.config, f.path());
  return s.config;
}

namespace {

// The fields where two configs differ: "num_heads 3 / 6, img_size 28 / 224" (first / second).
std::string config_differences(const ViTConfig& a, const ViTConfig& b) {
  const nlohmann::json ja = to_json(a), jb = to_json(b);
  std::string d;
  for (const auto& [k, v] : ja.items()) {
    const nlohmann::json w = jb.contains(k) ? jb[k] : nlohmann::json(false);
    if (v != w) d += (d.empty() ? "" : ", ") + k + " " + v.dump() + " / " + w.dump();
  }
  for (const auto& [k, w] : jb.items())
    if (!ja.contains(k)) d += (d.empty() ? "" : ", ") + k + " false / " + w.dump();
  return d;
}

}  // namespace

void refuse_contradiction(const ViTConfig& stated, const GivenConfig& given, const std::string& path) {
  const std::string diff = config_differences(stated, given.config);
  if (diff.empty()) return;
  throw Error::usage(given.flag + " contradicts " + path + " (file / flag: " + diff +
                     "); drop the flag (the file's config is used) or give the checkpoint it describes");
}

LoadedViT load_vit(const SafetensorsFile& f, const std::optional<GivenConfig>& given) {
  ViTConfig cfg;
  std::string source;
  const auto meta = f.own_metadata();
  if (std::optional<std::string> text = stated_config_text(f, meta)) {
    nlohmann::json j = parse_json_text(*text, f.path() + " (metadata bitbench.config)");
    JsonReader r(j, f.path(), "/__metadata__/bitbench.config");
    cfg = read_vit_config(r);
    source = "metadata";
    if (given) refuse_contradiction(cfg, *given, f.path());
  } else if (given) {
    cfg = given->config;
    source = "argument";
    // The one field a file may state without a config.
    if (auto it = meta.find("num_heads"); it != meta.end() && it->second != std::to_string(cfg.num_heads))
      throw Error::usage(given->flag + " contradicts " + f.path() + " (file / flag: num_heads " + it->second + " / " +
                         std::to_string(cfg.num_heads) + "); drop the flag or give the checkpoint it describes");
  } else {
    cfg = infer_vit_config(f);
    source = "inferred (num_heads from " + infer_from_shapes(f).heads_from + ")";
  }
  check(cfg, f.path());
  // Names and shapes are matched on the layout alone, before the parameter
  // buffer exists: a config that lies about its size (in the metadata, or
  // given by the caller) is refused without allocating for it, so memory stays
  // bounded by the tensors the file actually holds.
  const std::vector<ParamEntry> layout = vit_param_layout(cfg);
  std::vector<std::string> missing, misshaped, unexpected;
  std::set<std::string> expected;
  for (const auto& e : layout) {
    expected.insert(e.name);
    const TensorInfo* t = f.find(e.name);
    if (!t) missing.push_back(e.name);
    else if (t->shape != e.shape)
      misshaped.push_back(e.name + " " + shape_str(t->shape) + " (expected " + shape_str(e.shape) + ")");
  }
  for (const auto& t : f.tensors())
    if (!expected.count(t.name)) unexpected.push_back(t.name);
  if (!missing.empty() || !misshaped.empty() || !unexpected.empty()) {
    std::string msg = "does not match the model config (" + source + "):";
    auto list = [&](const char* what, const std::vector<std::string>& v) {
      if (v.empty()) return;
      msg += std::string(" ") + what + " " + std::to_string(v.size()) + ":";
      for (size_t i = 0; i < v.size() && i < 8; ++i) msg += (i ? ", " : " ") + v[i];
      if (v.size() > 8) msg += ", ...";
      msg += ";";
    };
    list("missing", missing);
    list("mis-shaped", misshaped);
    list("unexpected", unexpected);
    msg.pop_back();
    throw Error::input(f.path(), msg);
  }
  LoadedViT out{ViTParams(cfg), meta, source};
  for (const auto& e : out.params.entries) f.to_f32(*f.find(e.name), out.params.data(e));
  return out;
}

LoadedViT load_vit(const std::string& path, const std::optional<GivenConfig>& given) {
  return load_vit(SafetensorsFile::read(path), given);
}

void save_vit(const std::string& path, const ViTParams& p, const std::map<std::string, std::string>& extra) {
  std::vector<TensorToWrite> t;
  for (const auto& e : p.entries) t.push_back({e.name, e.shape, DType::F32, p.data(e)});
  std::map<std::string, std::string> meta = extra;
  meta["format"] = "bitbench-vit";
  meta["config"] = to_json(p.cfg).dump();
  meta["num_heads"] = std::to_string(p.cfg.num_heads);
  write_safetensors(path, t, namespaced_metadata(meta));
}

}  // namespace bb
