#pragma once
// Which ISA paths a kernel test ran, said aloud, and BITBENCH_REQUIRE_ISA: a
// comma-separated list of path names (isa_name: generic, avx2, avx512; kernel
// paths: avx512-vnni, avx512-vpopcntdq, popcnt, ...) that a test looping over
// the paths must have run — set by the test command on a CPU that has them,
// so a dispatch that silently fell back fails instead of passing on the
// generic path alone.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

#include "kernels/bit_gemm.hpp"
#include "kernels/test_only/bitserial_gemm.hpp"
#include "core/simd.hpp"
#include "kernels/xnor_gemm.hpp"

namespace bb::test {

// The names the active dispatch answers to: the ISA and each kernel's path.
inline std::set<std::string> active_path_names() {
  return {isa_name(active_isa()), bit_gemm_path(), xnor_gemm_path(), bitserial_gemm_path()};
}

// Every name this CPU could report when nothing is forced down.
inline std::set<std::string> known_path_names() {
  return {"generic", "scalar", "avx2", "avx512", "avx512-vnni", "avx512-vpopcntdq", "popcnt"};
}

// After a loop over the paths: prints what ran (once per process) and fails
// the test for each required name (BITBENCH_REQUIRE_ISA) that did not run.
inline void check_paths_ran(const std::set<std::string>& ran) {
  static bool printed = false;
  std::string list;
  for (const auto& n : ran) list += (list.empty() ? "" : ", ") + n;
  if (!printed) {
    std::printf("[isa] paths exercised: %s\n", list.c_str());
    printed = true;
  }
  const char* req = std::getenv("BITBENCH_REQUIRE_ISA");
  if (!req || !*req) return;
  std::stringstream ss(req);
  std::string name;
  while (std::getline(ss, name, ',')) {
    if (name.empty()) continue;
    if (!known_path_names().count(name)) {
      ADD_FAILURE() << "BITBENCH_REQUIRE_ISA names '" << name << "', which no path is called";
      continue;
    }
    EXPECT_TRUE(ran.count(name)) << "BITBENCH_REQUIRE_ISA requires path '" << name
                                 << "' but this test ran only: " << list
                                 << " (the CPU lacks it, or BITBENCH_ISA forced the dispatch down)";
  }
}

// Runs body once per ISA the CPU supports (at least the generic one), then
// restores the best, and checks the paths it ran (check_paths_ran).
template <class F>
void for_each_isa(F&& body) {
  std::set<std::string> ran;
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    set_isa_limit(isa);
    if (active_isa() != isa) continue;  // not on this CPU
    SCOPED_TRACE(isa_name(isa));
    for (const auto& n : active_path_names()) ran.insert(n);
    body();
  }
  set_isa_limit(Isa::kAvx512);
  check_paths_ran(ran);
}

}  // namespace bb::test
