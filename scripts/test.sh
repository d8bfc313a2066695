#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test (unit, PyTorch oracle,
# end-to-end CLI). Tests that need ../shared/data skip with a message where it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir build --output-on-failure -j"$jobs" "$@"
