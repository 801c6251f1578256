#include "core/error.hpp"

#include <cstring>

namespace bb {
namespace {
std::string format(const std::string& file, const std::string& message, const std::string& json_path,
                   const std::optional<uint64_t>& offset) {
  std::string s;
  if (!file.empty()) s += file + ": ";
  if (!json_path.empty()) s += json_path + ": ";
  if (offset) s += "offset " + std::to_string(*offset) + ": ";
  return s + message;
}
}  // namespace

Error::Error(ErrorKind kind, std::string file, std::string message, std::string json_path,
             std::optional<uint64_t> offset)
    : std::runtime_error(format(file, message, json_path, offset)),
      kind_(kind),
      file_(std::move(file)),
      message_(std::move(message)),
      json_path_(std::move(json_path)),
      offset_(offset) {}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace bb
