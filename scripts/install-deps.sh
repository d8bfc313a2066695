#!/usr/bin/env bash
# Installs longlora's build and test dependencies from Debian 12's packages. Idempotent:
# does nothing when everything is already installed. Run as root or with sudo available.
#   --clang also installs clang with its libFuzzer and sanitizer runtimes and LLVM's OpenMP (libomp,
#   with the Archer tool for ThreadSanitizer): what scripts/ci-fuzz.sh and scripts/ci-tsan.sh build with.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libdnnl-dev                 # oneDNN: every GEMM
  libsentencepiece-dev        # tokenizer.model
  libicu-dev                  # Unicode categories and normal forms (tokenizer.json)
  sentencepiece               # spm_train, for the demo's tokenizer
  nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-torch python3-numpy # the test oracle and the benchmark peer (tests/reference)
  python3-venv                # build/venv for the ecosystem's clients (scripts/python-clients.sh)
  bible-kjv                   # the demo corpus
  openmpi-bin libopenmpi-dev  # MPI: train/sft/eval over mpirun's ranks, and the tests/mpi tests
)
if [ "${1:-}" = "--clang" ]; then
  packages+=(clang libclang-rt-14-dev libomp-14-dev)
fi

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
