#!/usr/bin/env bash
# CI step: the threaded code under ThreadSanitizer (the "tsan" preset: clang, LLVM's OpenMP runtime
# and its Archer tool, which tells TSan about OpenMP's barriers; GCC's libgomp barriers would be
# reported as races). LONGLORA_THREAD_SMALL_WORK=1 threads even the smallest loops
# (core/threads.h), so the tests' small shapes take every threaded path of the kernels, the
# attention forward and backward, the model and the trainer. Any race fails the step.
#   Usage: scripts/ci-tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --clang
cmake --preset tsan >/dev/null
suites=(test_kernels test_attention test_model test_train test_reliability)
cmake --build --preset tsan --target longlora "${suites[@]}"

archer=$(ls /usr/lib/llvm-*/lib/libarcher.so | sort -V | tail -n 1)
export OMP_TOOL_LIBRARIES=$archer
export TSAN_OPTIONS="halt_on_error=1 ignore_noninstrumented_modules=1"
export LONGLORA_THREAD_SMALL_WORK=1
# Left out: AttentionMemory measures resident memory at 64k tokens (meaningless with TSan's shadow);
# DiskFaults.WriteFailingHalfway runs the CLI under a file-size limit, which TSan's own runtime
# does not survive (SIGBUS inside TSan, with or without our code).
filter='-AttentionMemory.*:DiskFaults.WriteFailingHalfway*'
failed=0
for s in "${suites[@]}"; do
  echo "== $s under ThreadSanitizer"
  if ! "build-tsan/tests/$s" --gtest_filter="$filter" --gtest_brief=1; then
    echo "FAILED: $s"
    failed=1
  fi
done
exit $failed
