#pragma once
// Helpers shared by the suites: a temporary directory removed at scope exit,
// file writing, and running the bitbench executable.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "models/safetensors.hpp"

namespace bb::test {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("bitbench_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Every tensor's raw bytes of a safetensors file, in file order (metadata
// excluded): for bit-identity checks of weights.
inline std::vector<uint8_t> tensor_bytes(const std::string& path) {
  SafetensorsFile f = SafetensorsFile::read(path);
  std::vector<uint8_t> all;
  for (const auto& t : f.tensors()) all.insert(all.end(), f.raw(t), f.raw(t) + (t.end - t.begin));
  return all;
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
inline void write_text(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::binary);
  f << s;
}
inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline std::string read_text(const std::string& path) {
  auto b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

// Every file below dir (to check that nothing was left behind).
inline std::vector<std::string> list_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) out.push_back(e.path().string());
  return out;
}

// Expects fn to throw bb::Error whose message contains every fragment.
template <class F>
void expect_error(F&& fn, const std::vector<std::string>& fragments, ErrorKind kind = ErrorKind::Input) {
  try {
    fn();
    ADD_FAILURE() << "expected bb::Error containing \"" << fragments[0] << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs bitbench with the given argument string; stdout and stderr captured.
inline RunResult run_bitbench(const std::string& args, const std::string& env = "BITBENCH_PROGRESS=off") {
  static int counter = 0;
  std::string base = std::filesystem::temp_directory_path() /
                     ("bitbench_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::string cmd = env + " " + BITBENCH_EXE + " " + args + " >" + base + ".out 2>" + base + ".err";
  int rc = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  return r;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace bb::test
