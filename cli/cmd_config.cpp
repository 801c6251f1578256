// bitbench config show [FILE] | config check FILE
#include <iostream>

#include "cli/commands.hpp"
#include "core/json_reader.hpp"
#include "eval/bench_config.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "eval/distill.hpp"
#include "eval/pipeline.hpp"
#include "models/packed.hpp"
#include "eval/run_config.hpp"

namespace bb::cli {

void add_config_commands(CLI::App& app) {
  auto* config = app.add_subcommand("config", "Validate configs and print them fully resolved");
  config->require_subcommand(1);

  static std::string show_file, check_file;
  auto* show = config->add_subcommand("show", "Print the fully resolved config (built-in defaults without FILE)");
  show->add_option("FILE", show_file, "Config file (JSON)");
  show->callback([] {
    if (show_file.empty()) {
      std::cout << to_json(default_run_config()).dump(2) << "\n";
      return;
    }
    const nlohmann::json j = parse_json_file(show_file);
    if (is_bench_config(j))  // a benchmark config (bitbench run)
      std::cout << to_json(parse_bench_config(j, show_file)).dump(2) << "\n";
    else if (is_distill_config(j))  // a distillation config: its own sections, resolved per student
      std::cout << to_json(parse_distill_config(j, show_file)).dump(2) << "\n";
    else
      std::cout << to_json(parse_run_config(j, show_file)).dump(2) << "\n";
  });

  auto* check = config->add_subcommand("check", "Validate a config; prints OK or the first problem with its JSON path");
  check->add_option("FILE", check_file, "Config file (JSON)")->required();
  check->callback([] {
    const nlohmann::json j = parse_json_file(check_file);
    // The files a config names are checked too: a config that parses but
    // names a missing checkpoint is not OK.
    if (is_bench_config(j)) {
      for (const std::string& w : check_run_inputs(parse_bench_config(j, check_file), RunOptions{}))
        std::cerr << "bitbench: warning: " << w << "\n";
    } else if (is_distill_config(j)) {
      const DistillRunConfig d = parse_distill_config(j, check_file);
      if (!d.teacher.empty()) {
        if (!path_exists(d.teacher))
          throw Error::input(d.teacher, "teacher checkpoint not found (" + check_file + ": /teacher)");
        (void)load_model(d.teacher);
      }
    } else
      parse_run_config(j, check_file);
    std::cout << check_file << ": OK\n";
  });
}

}  // namespace bb::cli
