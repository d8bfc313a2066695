// Thread control: one setting for our OpenMP loops and oneDNN (both run on libgomp).
#pragma once

#include <cstdint>

namespace ll {

// n <= 0 means all cores. Applies to every later parallel region and GEMM.
void set_num_threads(int n);
int num_threads();

// The grain of a threaded loop: `grain` elements normally. Kernels run a loop on the calling
// thread alone below their grain (`if (rows * C > parallel_grain(32768))`: a parallel region costs
// more than such work) and split large loops into chunks of parallel_grain(kChunk) elements.
// With small-work threading on, the grain is at most 64 elements, so that the small shapes of the
// race checks (ThreadDeterminism, the ThreadSanitizer CI step) take every threaded path.
int64_t parallel_grain(int64_t grain);
// Small-work threading: off unless the environment sets LONGLORA_THREAD_SMALL_WORK=1.
void set_thread_small_work(bool on);

}  // namespace ll
