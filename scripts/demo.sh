#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs `longlora demo` (the embedded default:
# LongLoRA's claims at small scale on the King James Bible). Output: demo-out/report.md and
# demo-out/perplexity.svg. Extra arguments go to the demo (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/longlora demo "$@"
