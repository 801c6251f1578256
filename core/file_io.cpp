#include "core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>

#include "core/error.hpp"

namespace bb {
namespace {

std::atomic<bool> g_counting{false};
std::mutex g_reads_mutex;
std::map<std::string, int64_t> g_reads;

void note_read(const std::string& path) {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(g_reads_mutex);
  ++g_reads[path];
}

std::vector<uint8_t> read_all(const std::string& path, uint64_t max_bytes) {
  // Non-blocking open, then fstat of what was opened: a FIFO or device posing
  // as a data file is refused instead of blocking the read forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error::input(path, "cannot open: " + errno_text(errno));
  struct stat st {};
  const char* refuse = nullptr;
  if (::fstat(fd, &st) != 0) refuse = "cannot stat";
  else if (S_ISDIR(st.st_mode)) refuse = "is a directory, expected a file";
  else if (!S_ISREG(st.st_mode)) refuse = "is not a regular file (a FIFO, socket or device)";
  if (refuse) {
    ::close(fd);
    throw Error::input(path, refuse);
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    throw Error::input(path, "file is " + std::to_string(st.st_size) + " bytes, above the limit of " +
                                 std::to_string(max_bytes));
  }
  std::vector<uint8_t> buf(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw Error::input(path, "read failed: " + errno_text(e));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  buf.resize(got);
  return buf;
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes) {
  note_read(path);
  return read_all(path, max_bytes);
}

std::string read_file_text(const std::string& path, uint64_t max_bytes) {
  note_read(path);
  auto b = read_all(path, max_bytes);
  return std::string(b.begin(), b.end());
}

void count_file_reads(bool on) {
  std::lock_guard<std::mutex> lock(g_reads_mutex);
  g_reads.clear();
  g_counting = on;
}

int64_t file_reads(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_reads_mutex);
  auto it = g_reads.find(path);
  return it == g_reads.end() ? 0 : it->second;
}

namespace {

// Test hook: BITBENCH_FAULT_DISK_FULL_AFTER=N lets this process write N bytes
// through write_file_atomic, after which every write fails with ENOSPC, as on a
// disk that filled up mid-file. Unset (the normal case): no limit.
ssize_t write_some(int fd, const char* data, size_t n) {
  static int64_t budget = [] {
    const char* v = std::getenv("BITBENCH_FAULT_DISK_FULL_AFTER");
    return v ? std::strtoll(v, nullptr, 10) : -1;
  }();
  if (budget < 0) return ::write(fd, data, n);
  if (budget == 0) {
    errno = ENOSPC;
    return -1;
  }
  ssize_t w = ::write(fd, data, std::min<size_t>(n, static_cast<size_t>(budget)));
  if (w > 0) budget -= w;
  return w;
}

// The rename is durable only once the folder's entry is on disk too.
void sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error::runtime(path, "cannot create temporary file: " + errno_text(errno));
  size_t put = 0;
  while (put < data.size()) {
    ssize_t n = write_some(fd, data.data() + put, data.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error::runtime(path, "write failed: " + errno_text(e));
    }
    put += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error::runtime(path, "write failed: " + errno_text(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error::runtime(path, "rename failed: " + errno_text(e));
  }
  sync_parent_dir(path);
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& data) {
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

bool is_file_path(const std::filesystem::path& p) noexcept {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

bool is_dir_path(const std::filesystem::path& p) noexcept {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec);
}

bool path_exists(const std::filesystem::path& p) noexcept {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error::runtime(dir, "cannot create directory: " + ec.message());
}

}  // namespace bb
