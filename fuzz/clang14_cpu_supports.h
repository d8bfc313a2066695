// Force-included into src/core/half.cpp by clang builds (fuzz and tsan presets): clang 14's
// __builtin_cpu_supports does not know "f16c", which half.cpp asks for. Every x86-64 CPU with
// AVX2 also has AVX and F16C, so there the check asks for AVX2 instead (the fast conversions then
// stay off on the rare AVX-without-AVX2 CPUs: slower, still correct). GCC builds never see this.
#pragma once
#define __builtin_cpu_supports(feature) __builtin_cpu_supports("avx2")
