#pragma once
// One exception type for everything bitbench refuses or fails at. It carries
// where the problem is (file, JSON path, byte offset) so the CLI can print one
// line that names it, and a kind that picks the exit code.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace bb {

enum class ErrorKind {
  Input,    // bad file, bad config, bad data: exit code 2
  Usage,    // bad flag or argument: exit code 2
  Runtime,  // the environment failed us (disk full, out of memory): exit code 1
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string file, std::string message,
        std::string json_path = {}, std::optional<uint64_t> offset = {});

  static Error input(std::string file, std::string message) {
    return Error(ErrorKind::Input, std::move(file), std::move(message));
  }
  static Error input_at(std::string file, uint64_t offset, std::string message) {
    return Error(ErrorKind::Input, std::move(file), std::move(message), {}, offset);
  }
  static Error config(std::string file, std::string json_path, std::string message) {
    return Error(ErrorKind::Input, std::move(file), std::move(message), std::move(json_path));
  }
  static Error usage(std::string message) { return Error(ErrorKind::Usage, {}, std::move(message)); }
  static Error runtime(std::string file, std::string message) {
    return Error(ErrorKind::Runtime, std::move(file), std::move(message));
  }

  ErrorKind kind() const { return kind_; }
  const std::string& file() const { return file_; }
  const std::string& json_path() const { return json_path_; }
  const std::optional<uint64_t>& offset() const { return offset_; }
  const std::string& message() const { return message_; }
  // 2 for bad input or usage, 1 for runtime failures.
  int exit_code() const { return kind_ == ErrorKind::Runtime ? 1 : 2; }

 private:
  ErrorKind kind_;
  std::string file_, message_, json_path_;
  std::optional<uint64_t> offset_;
};

// "errno text" for the last failed system call, for messages.
std::string errno_text(int err);

}  // namespace bb
