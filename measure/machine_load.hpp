#pragma once
// What else the machine did while bitbench timed: CPU time other processes
// (and the hypervisor's steal) took during the window, from /proc/stat against
// this process's own /proc/self/stat; the load average before and after; the
// CPU clock where readable. A timing taken on a busy machine is flagged.
#include <cstdint>

namespace bb {

struct MachineLoad {
  double seconds = 0;             // the window
  double other_cpu_seconds = 0;   // busy CPU time not this process's (steal included)
  double load_before = -1, load_after = -1;  // 1-minute load average (-1: unreadable)
  double cpu_mhz = 0;             // the first CPU's clock at the end (0: unreadable)
  bool readable = false;          // /proc/stat and /proc/self/stat were read
  // Cores' worth of other work on average during the window.
  double other_cores() const { return seconds > 0 ? other_cpu_seconds / seconds : 0; }
  // Busy: others took more than a fifth of a core on average.
  bool busy() const { return readable && other_cores() > 0.2; }
};

// Starts a window at construction; stop() closes it.
class MachineLoadMeter {
 public:
  MachineLoadMeter();
  MachineLoad stop() const;

 private:
  double start_wall_ = 0, start_busy_ = 0, start_self_ = 0, load_before_ = -1;
  bool ok_ = false;
};

}  // namespace bb
