// Run-time CPU dispatch for hot loops. LL_MULTIVERSION compiles a function three times
// (AVX-512, AVX2+FMA, baseline x86-64) and the loader picks the best one for the CPU, so
// one binary is fast on AVX-512 machines and still correct on CPUs without it.
#pragma once

#if defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define LL_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LL_MULTIVERSION
#endif

namespace ll {
// What the CPU running us supports (checked once).
bool cpu_has_avx2_fma();
bool cpu_has_avx512();
bool cpu_has_avx512_bf16();
}  // namespace ll
