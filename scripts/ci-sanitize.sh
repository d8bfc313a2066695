#!/usr/bin/env bash
# CI step: the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (the "asan"
# preset: Debug at -O1, any UB aborts the test, leaks are reported), on the best CPU path this machine
# has (core/cpu_isa.h). The interop tests are not built here: their C++ side runs the same parsers and
# CLI as the other suites, and their time goes to the Python clients.
#   Usage: scripts/ci-sanitize.sh [extra ctest arguments, e.g. -R test_formats]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan "$@"
