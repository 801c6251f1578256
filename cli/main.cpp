// bitbench: the command-line entry point. Exit codes: 0 success, 2 bad input
// or usage (one line on stderr naming the file and problem), 1 runtime failure.
#include <opencv2/core/utils/logger.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <new>

#include "cli/commands.hpp"
#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "core/utf8.hpp"
#include "core/version.hpp"
#include "core/cpu_features.hpp"

namespace {

// One line whatever a message quotes: a file name with a newline (or another
// control character, or bytes that are not UTF-8) in it is printed escaped, so
// the error stays one line of text.
std::string one_line(const std::string& m) {
  std::string out;
  for (size_t i = 0; i < m.size();) {
    const auto c = static_cast<unsigned char>(m[i]);
    const size_t n = bb::utf8_sequence_length(m, i);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (n == 0 || c < 0x20 || c == 0x7f) {  // a control character, or a byte of a name that is not UTF-8
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.append(m, i, n);
      i += n;
      continue;
    }
    ++i;
  }
  return out;
}

// "bitbench: " on a single process or MPI rank 0; "bitbench [rank R]: " on the
// others, which report their own errors (a rank may fail alone).
std::string prefix() {
  return bb::comm::rank() == 0 ? "bitbench: " : "bitbench [rank " + std::to_string(bb::comm::rank()) + "]: ";
}

int run_app(int argc, char** argv) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  CLI::App app{"bitbench: what a 1-2 bit BitNet ViT student keeps of its full-precision teacher\n"
               "(accuracy, memory, latency), measured on real data and real kernels."};
  app.require_subcommand(1);
  // Global flags (--threads) anywhere on the line: `bitbench validate --threads 1` as `bitbench --threads 1 validate`.
  // Inherited by every subcommand added below.
  app.fallthrough();
  app.set_version_flag("--version", std::string("bitbench ") + bb::kVersion + " (git " + bb::kGitRevision + ")");
  int threads = 0;
  CLI::Option* threads_opt =
      app.add_option("--threads", threads,
                     "Compute threads the models run with, for accuracy and latency alike (0 = all cores; run's "
                     "latency sweep times at this count where latency.threads says 0); given here it wins over any "
                     "config's \"threads\" for every subcommand (default: the config's, else all cores)")
          ->check(CLI::Range(0, 1024));
  app.parse_complete_callback([&] {
    if (threads_opt->count()) bb::set_threads_from_command_line(threads);
    else bb::set_num_threads(0);
  });
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
    std::cerr << prefix() << one_line(e.what()) << " (see --help)\n";
    return 2;
  } catch (const bb::Error& e) {
    std::cerr << prefix() << one_line(e.what()) << "\n";
    return e.exit_code();
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user named that the filesystem refused (a symlink loop, no
    // permission): name it, as a bb::Error would.
    std::cerr << prefix() << one_line((e.path1().empty() ? std::string("filesystem") : e.path1().string()) + ": " +
                                      e.code().message())
              << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << prefix() << "out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << prefix() << "internal error: " << one_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bb::comm::init(&argc, &argv);
  // N copies of a build without MPI would each do all the work and race for the output folder.
  if (const char* n = std::getenv("OMPI_COMM_WORLD_SIZE"); n && std::atoi(n) > 1 && !bb::comm::built_with_mpi()) {
    std::cerr << "bitbench: started by mpirun with " << n
              << " processes, but this build has no MPI (configure with -DBITBENCH_MPI=ON)\n";
    return 2;
  }
  if (bb::comm::rank() != 0) ::setenv("BITBENCH_PROGRESS", "off", 1);  // one progress display: rank 0's
  const int code = run_app(argc, argv);
  // Under mpirun a failing rank takes the others down rather than leaving
  // them blocked in a collective.
  // (An interrupt, 130, is agreed by every rank at the same step: they all
  // return it and finalize normally.)
  if (code != 0 && code != 130 && bb::comm::size() > 1) bb::comm::abort_all(code);
  bb::comm::finalize();
  return code;
}
