#include "measure/environment.hpp"

#include <dnnl.h>
#include <malloc.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <thread>

#include "core/threads.hpp"
#include "core/version.hpp"
#include "kernels/bit_gemm.hpp"
#include "core/cpu_features.hpp"
#include "core/simd.hpp"
#include "kernels/xnor_gemm.hpp"

namespace bb {
namespace {

std::string os_name() {
  std::ifstream f("/etc/os-release");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  return "unknown";
}

}  // namespace

std::string host_name() {
  char buf[256] = "";
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string affinity_list() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return "";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) {
      if (!out.empty()) out += ',';
      out += std::to_string(c);
    }
  return out;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool reset_peak_rss() {
  // Heap freed by earlier work (an earlier model's arena and weights) goes
  // back to the system first, so each evaluation's peak starts from what is
  // live now rather than from what an earlier one left in malloc's free lists.
  malloc_trim(0);
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

int64_t current_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
  return 0;
}

int64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   1234 kB"
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

nlohmann::ordered_json capture_environment(const std::string& command_line) {
  nlohmann::ordered_json e;
  const CpuFeatures& f = cpu_features();
  e["cpu"] = f.model;
  e["cpu_flags"] = f.flags();
  e["cores"] = std::thread::hardware_concurrency();
  e["threads"] = num_threads();
  utsname u{};
  uname(&u);
  e["os"] = os_name();
  e["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  e["compiler"] = std::string("gcc ") + __VERSION__;
#ifdef NDEBUG
  e["build"] = "release";
#else
  e["build"] = "debug";
#endif
  const dnnl_version_t* v = dnnl_version();
  e["onednn"] = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  e["isa"] = isa_name(active_isa());
  e["bit_gemm_path"] = bit_gemm_path();
  e["xnor_gemm_path"] = xnor_gemm_path();
  e["bitbench"] = kVersion;
  e["git_revision"] = kGitRevision;
  e["command_line"] = command_line;
  return e;
}

}  // namespace bb
