#!/usr/bin/env bash
# Installs longlora's build and test dependencies from Debian 12's packages. Idempotent:
# does nothing when everything is already installed. Run as root or with sudo available.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libdnnl-dev                 # oneDNN: every GEMM
  libsentencepiece-dev        # tokenizer.model
  sentencepiece               # spm_train, for the demo's tokenizer
  nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-torch python3-numpy # the test oracle and the benchmark peer (tests/reference)
  bible-kjv                   # the demo corpus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
