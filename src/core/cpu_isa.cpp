#include "core/cpu_isa.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace ll {

bool cpu_has_avx2_fma() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return has;
#else
  return false;
#endif
}

bool cpu_has_x86_64_v4() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has =
      cpu_has_avx512() && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd");
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  static const bool has = cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Portable: return "portable";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Avx512: return "avx512";
  }
  return "?";
}

bool cpu_isa_available(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Portable: return true;
    case CpuIsa::Avx2: return LL_HAVE_ISA_COPIES && cpu_has_avx2_fma();
    case CpuIsa::Avx512: return LL_HAVE_ISA_COPIES && cpu_has_x86_64_v4();
  }
  return false;
}

namespace {

CpuIsa choose_isa() {
  if (const char* env = std::getenv("LONGLORA_CPU_ISA"); env && *env) {
    for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512}) {
      if (std::string(env) != cpu_isa_name(isa)) continue;
      if (!cpu_isa_available(isa))
        fail_expected("LONGLORA_CPU_ISA", "value", "a path this CPU and build run", std::string(env));
      return isa;
    }
    fail_expected("LONGLORA_CPU_ISA", "value", "portable, avx2 or avx512", std::string(env));
  }
  if (cpu_isa_available(CpuIsa::Avx512)) return CpuIsa::Avx512;
  if (cpu_isa_available(CpuIsa::Avx2)) return CpuIsa::Avx2;
  return CpuIsa::Portable;
}

}  // namespace

CpuIsa cpu_isa() {
  static const CpuIsa isa = choose_isa();
  return isa;
}

}  // namespace ll
