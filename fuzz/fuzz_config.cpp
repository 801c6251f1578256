// The config loader: JSON text into a run, distillation or benchmark config,
// whichever shape it has (the same dispatch as `bitbench config check`).
#include <string>

#include "core/json_reader.hpp"
#include "eval/bench_config.hpp"
#include "eval/distill.hpp"
#include "eval/run_config.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bb::fuzz::run_one([&] {
    const nlohmann::json j = bb::parse_json_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    if (bb::is_bench_config(j))
      (void)bb::parse_bench_config(j, "fuzz.json");
    else if (bb::is_distill_config(j))
      (void)bb::parse_distill_config(j, "fuzz.json");
    else
      (void)bb::parse_run_config(j, "fuzz.json");
  });
}
