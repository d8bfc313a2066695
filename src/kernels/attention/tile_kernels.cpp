// Choosing the instruction-set path of the attention tile kernels.
#include "kernels/attention/tile_kernels.h"

#include "core/error.h"

namespace ll::attn {

const TileKernels& tile_kernels(CpuIsa isa) {
  LL_CHECK(cpu_isa_available(isa));
  switch (isa) {
    case CpuIsa::Avx512: return kAvx512Kernels;
    case CpuIsa::Avx2: return kAvx2Kernels;
    default: return kPortableKernels;
  }
}

}  // namespace ll::attn
