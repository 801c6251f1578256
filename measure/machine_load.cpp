#include "measure/machine_load.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace bb {
namespace {

double ticks_per_second() {
  const long t = ::sysconf(_SC_CLK_TCK);
  return t > 0 ? static_cast<double>(t) : 100.0;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Busy CPU seconds of the whole machine since boot (user nice system irq softirq steal), or -1.
double machine_busy_seconds() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(f >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu") return -1;
  return (user + nice + system + irq + softirq + steal) / ticks_per_second();
}

// This process's CPU seconds (utime + stime of every thread), or -1.
double self_cpu_seconds() {
  std::ifstream f("/proc/self/stat");
  std::string text;
  if (!std::getline(f, text)) return -1;
  const size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15 (1-based)
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / ticks_per_second();
}

double load_average() {
  std::ifstream f("/proc/loadavg");
  double one = -1;
  return f >> one ? one : -1;
}

double cpu_mhz() {
  std::ifstream freq("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq");
  double khz = 0;
  if (freq >> khz && khz > 0) return khz / 1000.0;
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line))
    if (line.rfind("cpu MHz", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return std::stod(line.substr(colon + 1));
    }
  return 0;
}

}  // namespace

MachineLoadMeter::MachineLoadMeter()
    : start_wall_(wall_seconds()), start_busy_(machine_busy_seconds()), start_self_(self_cpu_seconds()),
      load_before_(load_average()) {
  ok_ = start_busy_ >= 0 && start_self_ >= 0;
}

MachineLoad MachineLoadMeter::stop() const {
  MachineLoad m;
  m.seconds = wall_seconds() - start_wall_;
  m.load_before = load_before_;
  m.load_after = load_average();
  m.cpu_mhz = cpu_mhz();
  const double busy = machine_busy_seconds(), self = self_cpu_seconds();
  m.readable = ok_ && busy >= 0 && self >= 0;
  if (m.readable) {
    const double others = (busy - start_busy_) - (self - start_self_);
    m.other_cpu_seconds = others > 0 ? others : 0;
  }
  return m;
}

}  // namespace bb
