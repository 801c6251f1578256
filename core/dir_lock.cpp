#include "core/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.hpp"

namespace bb {

DirLock::DirLock(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / ".bitbench.lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error::runtime(path, std::string("cannot create the folder's lock file: ") + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    if (e == EWOULDBLOCK) throw Error::usage(dir + " is in use by another bitbench process (it holds " + path + ")");
    throw Error::runtime(path, std::string("cannot lock: ") + std::strerror(e));
  }
  remove_stale_temporaries(dir);
}

// With the lock held no other process writes here, so any "<file>.tmp.<pid>"
// is the remains of a write a killed process never renamed (the finished file
// beside it, if any, is whole). Best effort: a file that cannot be removed stays.
void DirLock::remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 == name.size()) continue;
    if (name.find_first_not_of("0123456789", at + 5) != std::string::npos) continue;
    if (it->is_regular_file(ec)) stale.push_back(it->path());
  }
  for (const auto& p : stale) fs::remove(p, ec);
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace bb
