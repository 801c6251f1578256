#pragma once
// Each file registers one group of subcommands on the CLI11 app. Commands only
// read flags, call into the libraries and print; the work lives below cli/.
#include <CLI/CLI.hpp>

namespace bb::cli {

void add_data_commands(CLI::App& app);
void add_config_commands(CLI::App& app);
void add_model_commands(CLI::App& app);  // model info, validate, predict
void add_train_commands(CLI::App& app);

}  // namespace bb::cli
