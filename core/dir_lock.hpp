#pragma once
// An exclusive advisory lock on a folder (flock on <dir>/.bitbench.lock), held
// for the object's lifetime: two bitbench processes writing the same run or
// training folder would interleave their atomic renames. The kernel drops the
// lock when the process ends, however it ends, so a crash never leaves it held.
// Taking the lock also removes the temporaries ("<file>.tmp.<pid>") that a
// killed process left below the folder.
#include <string>

namespace bb {

class DirLock {
 public:
  // Error(Usage) naming the folder when another process holds it; Error(Runtime) when the lock file cannot be made.
  explicit DirLock(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  static void remove_stale_temporaries(const std::string& dir);
  int fd_ = -1;
};

}  // namespace bb
