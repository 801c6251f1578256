#pragma once
// Each file registers one group of subcommands on the CLI11 app. Commands only
// read flags, call into the libraries and print; the work lives below cli/.
#include <CLI/CLI.hpp>

namespace bb::cli {

void add_data_commands(CLI::App& app);
void add_config_commands(CLI::App& app);
void add_model_commands(CLI::App& app);  // model info, validate, predict
void add_train_commands(CLI::App& app);
void add_distill_commands(CLI::App& app);
void add_run_commands(CLI::App& app, int argc, char** argv);  // run, report, compare

// Refuses (Error naming the folder) an output path whose folder is missing,
// so a command fails before doing any work rather than after it.
void check_output_path(const std::string& path, const std::string& flag);

}  // namespace bb::cli
