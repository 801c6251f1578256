#include "core/cpu_features.hpp"

#include <cpuid.h>

#include <fstream>

namespace bb {
namespace {
CpuFeatures detect() {
  CpuFeatures f;
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  f.avx512vpopcntdq = __builtin_cpu_supports("avx512vpopcntdq");
  // AVX-VNNI straight from CPUID leaf 7 subleaf 1 (EAX bit 4): clang 14's
  // __builtin_cpu_supports does not know the name.
  unsigned a = 0, b = 0, c = 0, d = 0;
  f.avxvnni = f.avx2 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4)) != 0;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) f.model = line.substr(p + 2);
      break;
    }
  if (f.model.empty()) f.model = "unknown";
  return f;
}
}  // namespace

std::string CpuFeatures::flags() const {
  std::string s;
  auto add = [&](bool on, const char* n) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += n;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512vnni, "avx512vnni");
  add(avx512vpopcntdq, "avx512vpopcntdq");
  add(avxvnni, "avxvnni");
  return s.empty() ? "none" : s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace bb
