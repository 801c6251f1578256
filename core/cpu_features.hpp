#pragma once
// What this CPU can run, read once at start-up: the kernels dispatch on it and
// reports record it.
#include <string>

namespace bb {

struct CpuFeatures {
  std::string model;  // "Intel(R) Xeon(R) ..." from /proc/cpuinfo
  bool avx2 = false, fma = false, avx512f = false, avx512bw = false, avx512vl = false;
  bool avx512vnni = false, avx512vpopcntdq = false, avxvnni = false;
  std::string flags() const;  // "avx2 fma avx512f ..." (only those present)
};

const CpuFeatures& cpu_features();

}  // namespace bb
