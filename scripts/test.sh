#!/usr/bin/env bash
# The test command: installs dependencies (Debian packages, and the ecosystem's Python clients into
# build/venv), builds, and runs every test (unit, PyTorch oracle, end-to-end CLI, interop with
# transformers / PEFT / tokenizers / llama.cpp). Tests that need ../shared/data skip with a message
# where it is absent; the interop tests fail (not skip) here when a client is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/python-clients.sh
export LONGLORA_REQUIRE_CLIENTS=1
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir build --output-on-failure -j"$jobs" "$@"
