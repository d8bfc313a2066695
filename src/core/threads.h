// Thread control: one setting for our OpenMP loops and oneDNN (both run on libgomp).
#pragma once

namespace ll {

// n <= 0 means all cores. Applies to every later parallel region and GEMM.
void set_num_threads(int n);
int num_threads();

}  // namespace ll
