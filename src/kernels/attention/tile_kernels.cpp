// Choosing the instruction-set path of the attention tile kernels.
#include "kernels/attention/tile_kernels.h"

#include "core/error.h"
#include "core/simd.h"

namespace ll {

namespace {
// x86-64-v4, what the Avx512 path is compiled for: AVX-512 F, BW, VL (cpu_has_avx512) plus DQ and CD.
bool cpu_has_x86_64_v4() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has =
      cpu_has_avx512() && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd");
  return has;
#else
  return false;
#endif
}
}  // namespace

const char* attention_isa_name(AttentionIsa isa) {
  switch (isa) {
    case AttentionIsa::Auto: return "auto";
    case AttentionIsa::Portable: return "portable";
    case AttentionIsa::Avx2: return "avx2";
    case AttentionIsa::Avx512: return "avx512";
  }
  return "?";
}

bool attention_isa_available(AttentionIsa isa) {
  switch (isa) {
    case AttentionIsa::Auto:
    case AttentionIsa::Portable: return true;
    case AttentionIsa::Avx2: return cpu_has_avx2_fma();
    case AttentionIsa::Avx512: return cpu_has_x86_64_v4();
  }
  return false;
}

AttentionIsa attention_best_isa() {
  if (cpu_has_x86_64_v4()) return AttentionIsa::Avx512;
  if (cpu_has_avx2_fma()) return AttentionIsa::Avx2;
  return AttentionIsa::Portable;
}

namespace attn {

const TileKernels& tile_kernels(AttentionIsa isa) {
  if (isa == AttentionIsa::Auto) isa = attention_best_isa();
  LL_CHECK(attention_isa_available(isa));
  switch (isa) {
    case AttentionIsa::Avx512: return kAvx512Kernels;
    case AttentionIsa::Avx2: return kAvx2Kernels;
    default: return kPortableKernels;
  }
}

}  // namespace attn
}  // namespace ll
