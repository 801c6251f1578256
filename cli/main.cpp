// bitbench: the command-line entry point. Exit codes: 0 success, 2 bad input
// or usage (one line on stderr naming the file and problem), 1 runtime failure.
#include <opencv2/core/utils/logger.hpp>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <new>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "core/version.hpp"
#include "kernels/cpu_features.hpp"

int main(int argc, char** argv) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  CLI::App app{"bitbench: what a 1-2 bit BitNet ViT student keeps of its full-precision teacher\n"
               "(accuracy, memory, latency), measured on real data and real kernels."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bitbench ") + bb::kVersion + " (git " + bb::kGitRevision + ")");
  int threads = 0;
  app.add_option("--threads", threads, "Compute threads (0 = all cores)")->check(CLI::Range(0, 1024));
  app.parse_complete_callback([&] { bb::set_num_threads(threads); });
  bb::cli::add_data_commands(app);
  bb::cli::add_config_commands(app);
  bb::cli::add_model_commands(app);
  bb::cli::add_train_commands(app);
  bb::cli::add_distill_commands(app);
  bb::cli::add_run_commands(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command that chose its exit code (e.g. 130 after Ctrl-C)
  } catch (const CLI::ParseError& e) {
    std::cerr << "bitbench: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const bb::Error& e) {
    std::cerr << "bitbench: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user named that the filesystem refused (a symlink loop, no
    // permission): name it, as a bb::Error would.
    std::cerr << "bitbench: " << (e.path1().empty() ? std::string("filesystem") : e.path1().string()) << ": "
              << e.code().message() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "bitbench: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "bitbench: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
