#pragma once
// Run-time ISA dispatch without -march: a kernel's body is written once as an
// always-inline function of plain loops, compiled three times under target
// attributes (AVX-512, AVX2+FMA, the portable baseline) so the compiler
// vectorises each for its ISA, and a dispatcher picks the best the CPU has.
// OpenMP stays in the callers: the bodies are serial (an outlined parallel
// region would not inherit the target attribute).
#include <string>

namespace bb {

enum class Isa { kGeneric = 0, kAvx2 = 1, kAvx512 = 2 };

// The best ISA this CPU supports, lowered by set_isa_limit (tests run every
// path on one machine; BITBENCH_ISA=generic|scalar|avx2|avx512 does the same
// at start-up and also caps later set_isa_limit calls, so a forced run of the
// test suite stays on the forced path).
Isa active_isa();
void set_isa_limit(Isa limit);
const char* isa_name(Isa isa);
Isa parse_isa(const std::string& name);  // Error(Usage) on unknown names

#define BB_INLINE __attribute__((always_inline)) inline
#define BB_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define BB_TARGET_AVX2 __attribute__((target("avx2,fma")))

// Sixteen floats as one value: GCC lowers arithmetic on it to one zmm, two ymm
// or four xmm operations depending on the target, so a body written with it
// keeps its accumulators in registers under every ISA. The `u` type may sit at
// any float-aligned address (load/store through it is unaligned).
typedef float f32x16 __attribute__((vector_size(64)));
typedef float f32x16u __attribute__((vector_size(64), aligned(4), may_alias));
#define BB_LOAD16(p) (*reinterpret_cast<const ::bb::f32x16u*>(p))
#define BB_STORE16(p, v) (*reinterpret_cast<::bb::f32x16u*>(p) = (v))

// Defines `static void name params` that forwards `args` to name##_body
// compiled for the active ISA. Example:
//   BB_INLINE void scale_body(float* x, int n, float s) { for (...) x[i] *= s; }
//   BB_MULTIVERSION(scale, (float* x, int n, float s), (x, n, s))
#define BB_MULTIVERSION(name, params, args)                      \
  BB_TARGET_AVX512 static void name##_avx512 params { name##_body args; } \
  BB_TARGET_AVX2 static void name##_avx2 params { name##_body args; }     \
  static void name##_generic params { name##_body args; }                 \
  static void name params {                                               \
    switch (::bb::active_isa()) {                                         \
      case ::bb::Isa::kAvx512: return name##_avx512 args;                 \
      case ::bb::Isa::kAvx2: return name##_avx2 args;                     \
      default: return name##_generic args;                                \
    }                                                                     \
  }

}  // namespace bb
