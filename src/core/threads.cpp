#include "core/threads.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace ll {

namespace {

std::atomic<bool>& small_work() {
  static std::atomic<bool> on{[] {
    const char* v = std::getenv("LONGLORA_THREAD_SMALL_WORK");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }()};
  return on;
}

}  // namespace

void set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : omp_get_num_procs()); }

int num_threads() { return omp_get_max_threads(); }

int64_t parallel_grain(int64_t grain) {
  return small_work().load(std::memory_order_relaxed) ? std::min<int64_t>(grain, 64) : grain;
}

void set_thread_small_work(bool on) { small_work().store(on, std::memory_order_relaxed); }

}  // namespace ll
