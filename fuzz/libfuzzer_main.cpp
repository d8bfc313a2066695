// libFuzzer's entry point for one target; LL_FUZZ_TARGET names its function (fuzz/targets.h).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ll::fuzz::LL_FUZZ_TARGET(data, size);
  return 0;
}
