#include "core/simd.hpp"

#include <atomic>
#include <cstdlib>

#include "core/error.hpp"
#include "core/cpu_features.hpp"

namespace bb {
namespace {

Isa detect() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && f.avx512vl && f.avx512bw && f.fma) return Isa::kAvx512;
  if (f.avx2 && f.fma) return Isa::kAvx2;
  return Isa::kGeneric;
}

Isa initial() {
  Isa best = detect();
  if (const char* env = std::getenv("BITBENCH_ISA"); env && *env) {
    Isa want = parse_isa(env);
    if (static_cast<int>(want) < static_cast<int>(best)) best = want;
  }
  return best;
}

std::atomic<int>& current() {
  static std::atomic<int> isa{static_cast<int>(initial())};
  return isa;
}

}  // namespace

Isa active_isa() { return static_cast<Isa>(current().load(std::memory_order_relaxed)); }

void set_isa_limit(Isa limit) {
  static const Isa best = initial();  // BITBENCH_ISA caps what a limit can raise back to
  current().store(static_cast<int>(static_cast<int>(limit) < static_cast<int>(best) ? limit : best));
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "generic";
  }
}

Isa parse_isa(const std::string& name) {
  if (name == "scalar") return Isa::kGeneric;
  for (Isa i : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512})
    if (name == isa_name(i)) return i;
  throw Error::usage("unknown ISA \"" + name + "\" (known: generic or scalar, avx2, avx512)");
}

}  // namespace bb
