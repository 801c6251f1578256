#pragma once
// Shared by the libFuzzer targets: a private scratch folder for inputs that the
// readers take by path, and the rule that decides what counts as a finding.
//
// A reader may refuse an input only with bb::Error (one clear message naming
// the file). Anything else escaping it — another exception, a crash, a
// sanitizer report, an allocation beyond libFuzzer's -rss_limit_mb — is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.hpp"

namespace bb::fuzz {

inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("bitbench_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes data to <scratch>/<name> (subfolders made) and returns the path.
inline std::string put(const std::string& name, const uint8_t* data, size_t size) {
  const auto p = scratch_dir() / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p.string();
}

// Runs body; bb::Error is an accepted refusal, any other exception aborts (a finding).
template <class F>
int run_one(F&& body) {
  try {
    body();
  } catch (const Error&) {
    // refused cleanly
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bitbench fuzz: exception other than bb::Error escaped: %s\n", e.what());
    std::abort();
  }
  return 0;
}

}  // namespace bb::fuzz
