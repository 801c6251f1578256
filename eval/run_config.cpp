#include "eval/run_config.hpp"

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace bb {

RunConfig parse_run_config(const nlohmann::json& j, const std::string& file) {
  RunConfig c;
  JsonReader r(j, file);
  r.read("name", c.name);
  r.read("seed", c.seed);
  r.read("threads", c.threads, 0, 1024);
  // Whichever of model and transform states the input size (or channels) sets
  // the other; stated in both, they must agree (checked below).
  int hint_size = 0, hint_chans = 0;
  if (j.contains("model") && j["model"].is_object()) {
    const auto& m = j["model"];
    if (m.contains("preset") && m["preset"].is_string()) {
      try {
        ViTConfig p = vit_preset(m["preset"].get<std::string>());
        hint_size = p.img_size;
        hint_chans = p.in_chans;
      } catch (const Error&) {
        // reported with its path when the model section is read
      }
    }
    // Only values the model's reader accepts are hints (it reports the others
    // with their path): a negative channel count must not size the data's statistics.
    auto hint = [&](const char* key, int lo, int hi, int& out) {
      if (!m.contains(key) || !m[key].is_number_integer()) return;
      const int64_t v = m[key].get<int64_t>();
      if (v >= lo && v <= hi) out = static_cast<int>(v);
    };
    hint("img_size", 1, 8192, hint_size);
    hint("in_chans", 1, 64, hint_chans);
  }
  c.data = read_data_config(r, hint_size, hint_chans);
  {
    // The model's input and class count default to the data's.
    ViTConfig start;
    start.img_size = c.data.transform.img_size;
    start.in_chans = c.data.transform.in_chans;
    if (int k = dataset_preset(c.data.dataset.name).num_classes; k > 0) start.num_classes = k;
    if (start.img_size % start.patch_size != 0) start.patch_size = start.img_size % 16 == 0 ? 16 : 1;
    JsonReader m = r.object("model");
    c.model = read_vit_config(m, start);
  }
  if (c.data.transform.img_size != c.model.img_size)
    throw Error::config(file, "/transform/img_size", "is " + std::to_string(c.data.transform.img_size) +
                                                         " but /model/img_size is " + std::to_string(c.model.img_size));
  if (c.data.transform.in_chans != c.model.in_chans)
    throw Error::config(file, "/transform/in_chans", "is " + std::to_string(c.data.transform.in_chans) +
                                                         " but /model/in_chans is " + std::to_string(c.model.in_chans));
  {
    JsonReader t = r.object("train");
    c.train = read_train_config(t);
  }
  {
    JsonReader l = r.object("loader");
    LoaderConfig& o = c.loader;
    l.read("batch_size", o.batch_size, 1, 65536);
    l.read("eval_batch_size", o.eval_batch_size, 1, 65536);
    l.read("workers", o.workers, 0, 256);
    l.read("prefetch", o.prefetch, 1, 64);
    l.read("limit_train", o.limit_train, 0, INT64_MAX);
    l.read("limit_eval", o.limit_eval, 0, INT64_MAX);
    l.finish();
  }
  r.finish();
  return c;
}

RunConfig load_run_config(const std::string& path) { return parse_run_config(parse_json_file(path), path); }

RunConfig default_run_config() { return parse_run_config(nlohmann::json::object(), "<defaults>"); }

nlohmann::json to_json(const RunConfig& c) {
  nlohmann::json j = to_json(c.data);
  j["name"] = c.name;
  j["model"] = to_json(c.model);
  j["train"] = to_json(c.train);
  j["seed"] = c.seed;
  j["threads"] = c.threads;
  const LoaderConfig& o = c.loader;
  j["loader"] = {{"batch_size", o.batch_size}, {"eval_batch_size", o.eval_batch_size}, {"workers", o.workers},
                 {"prefetch", o.prefetch},     {"limit_train", o.limit_train},         {"limit_eval", o.limit_eval}};
  return j;
}

}  // namespace bb
