// bitbench config show [FILE] | config check FILE
#include <iostream>

#include "cli/commands.hpp"
#include "eval/run_config.hpp"

namespace bb::cli {

void add_config_commands(CLI::App& app) {
  auto* config = app.add_subcommand("config", "Validate configs and print them fully resolved");
  config->require_subcommand(1);

  static std::string show_file, check_file;
  auto* show = config->add_subcommand("show", "Print the fully resolved config (built-in defaults without FILE)");
  show->add_option("FILE", show_file, "Config file (JSON)");
  show->callback([] {
    RunConfig c = show_file.empty() ? default_run_config() : load_run_config(show_file);
    std::cout << to_json(c).dump(2) << "\n";
  });

  auto* check = config->add_subcommand("check", "Validate a config; prints OK or the first problem with its JSON path");
  check->add_option("FILE", check_file, "Config file (JSON)")->required();
  check->callback([] {
    load_run_config(check_file);
    std::cout << check_file << ": OK\n";
  });
}

}  // namespace bb::cli
