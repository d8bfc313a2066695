// The CPU instruction-set paths of longlora's own kernels, chosen at run time.
//
// Hot loops are compiled three times from one source — baseline x86-64 (Portable), x86-64-v3
// (AVX2 + FMA) and x86-64-v4 (AVX-512 F/BW/CD/DQ/VL) — and a dispatcher runs the copy of the process's
// path, cpu_isa(): the best one this CPU runs, or the one LONGLORA_CPU_ISA names
// (portable|avx2|avx512; a path the CPU lacks is refused), so that the tests run every path a machine
// has (the backend harness runs once per path). One binary is fast on AVX-512 machines and correct
// on CPUs without it. The GEMMs are oneDNN's, which dispatches by itself (DNNL_MAX_CPU_ISA limits it).
//
// Builds for other architectures run the Portable path only.
#pragma once
#include <cstdint>

namespace ll {

enum class CpuIsa : uint8_t { Portable, Avx2, Avx512 };

const char* cpu_isa_name(CpuIsa isa);  // "portable", "avx2", "avx512"
// Whether this build has the path and this CPU runs it.
bool cpu_isa_available(CpuIsa isa);
// The path this process runs (fixed at start-up). InputError when LONGLORA_CPU_ISA names an unknown
// or unavailable path.
CpuIsa cpu_isa();

// What the CPU running us supports (checked once).
bool cpu_has_avx2_fma();
bool cpu_has_avx512();       // F, BW, VL
bool cpu_has_x86_64_v4();    // cpu_has_avx512() plus DQ and CD: what the Avx512 path is compiled for
bool cpu_has_avx512_bf16();

}  // namespace ll

#if defined(__x86_64__) && defined(__GNUC__)
#define LL_HAVE_ISA_COPIES 1
#define LL_ISA_INLINE __attribute__((always_inline)) inline
// Defines `ret name params` — e.g. LL_ISA_DISPATCH(float, dot, (const float* x, int n), (x, n)) —
// as three copies of `name##_body` (an LL_ISA_INLINE function with the same parameters, defined
// just before) compiled for each path, and a dispatcher that runs the copy of cpu_isa().
#define LL_ISA_DISPATCH(ret, name, params, args)                                                      \
  __attribute__((target("arch=x86-64-v4"))) ret name##_avx512 params { return name##_body args; }     \
  __attribute__((target("arch=x86-64-v3"))) ret name##_avx2 params { return name##_body args; }       \
  ret name##_portable params { return name##_body args; }                                             \
  ret name params {                                                                                   \
    switch (::ll::cpu_isa()) {                                                                        \
      case ::ll::CpuIsa::Avx512: return name##_avx512 args;                                           \
      case ::ll::CpuIsa::Avx2: return name##_avx2 args;                                               \
      default: return name##_portable args;                                                           \
    }                                                                                                 \
  }
#else
#define LL_HAVE_ISA_COPIES 0
#define LL_ISA_INLINE inline
#define LL_ISA_DISPATCH(ret, name, params, args) \
  ret name params { return name##_body args; }
#endif
