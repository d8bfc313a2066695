#!/usr/bin/env bash
# CI step: the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (the "asan"
# preset: Debug at -O1, any UB aborts the test, leaks are reported). LL_MULTIVERSION's
# target_clones are off under ASan (src/core/simd.h), so the portable paths are what is checked.
#   Usage: scripts/ci-sanitize.sh [extra ctest arguments, e.g. -R test_formats]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan "$@"
