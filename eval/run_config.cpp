#include "eval/run_config.hpp"

#include "core/json_reader.hpp"

namespace bb {

RunConfig parse_run_config(const nlohmann::json& j, const std::string& file) {
  RunConfig c;
  JsonReader r(j, file);
  r.read("name", c.name);
  r.read("seed", c.seed);
  r.read("threads", c.threads, 0, 1024);
  c.data = read_data_config(r);
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
  j["seed"] = c.seed;
  j["threads"] = c.threads;
  const LoaderConfig& o = c.loader;
  j["loader"] = {{"batch_size", o.batch_size}, {"eval_batch_size", o.eval_batch_size}, {"workers", o.workers},
                 {"prefetch", o.prefetch},     {"limit_train", o.limit_train},         {"limit_eval", o.limit_eval}};
  return j;
}

}  // namespace bb
