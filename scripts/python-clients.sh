#!/usr/bin/env bash
# Installs the ecosystem's own clients (transformers, PEFT, tokenizers, gguf, llama-cpp-python) into
# build/venv, for the interop tests (tests/interop). Idempotent and quick on a re-run: the venv is
# rebuilt only when scripts/python-clients.txt changes, pip's download cache (~/.cache/pip) is reused,
# and llama-cpp-python (which compiles llama.cpp from its source distribution, ~6 minutes on 2 cores)
# is built once into build/wheels/<cpu>/ and installed from there afterwards.
# Any failure is fatal: the test command runs this, so CI fails loudly when a client cannot be installed.
#   usage: scripts/python-clients.sh [--check]   (--check: exit 0 if the venv is complete, 1 otherwise)
set -euo pipefail
cd "$(dirname "$0")/.."

venv=build/venv
requirements=scripts/python-clients.txt
llama_cpp=llama-cpp-python==0.3.36
stamp="$venv/.installed"
want="$(sha256sum "$requirements" | cut -c1-16) $llama_cpp"

if [ "${1:-}" = "--check" ]; then
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]
  exit
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

if [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "python-clients: /usr/bin/python3 with Debian's python3-torch is needed (scripts/install-deps.sh)" >&2
  exit 1
fi
/usr/bin/python3 -m venv --help >/dev/null 2>&1 || {
  echo "python-clients: python3-venv is missing (scripts/install-deps.sh installs it)" >&2
  exit 1
}

start=$(date +%s)
rm -rf "$venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
pip=("$venv/bin/pip" --disable-pip-version-check --no-input -q)
echo "python-clients: installing $(grep -c '^[a-z]' "$requirements") pinned packages into $venv"
"${pip[@]}" install --no-deps -r "$requirements"

# llama.cpp is compiled for this CPU (GGML_NATIVE), so the wheel is kept per CPU model and flags.
cpu_key=$( (grep -m1 'model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo) | sha256sum | cut -c1-12)
wheels="build/wheels/$cpu_key"
if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "python-clients: building $llama_cpp (llama.cpp from source; several minutes)"
  mkdir -p "$wheels"
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
    "${pip[@]}" wheel --no-deps --no-cache-dir -w "$wheels" "$llama_cpp"
fi
"${pip[@]}" install --no-deps "$wheels"/llama_cpp_python-*.whl

"$venv/bin/python" - <<'EOF'
import importlib
for m in ["torch", "transformers", "peft", "accelerate", "tokenizers", "safetensors", "gguf", "llama_cpp"]:
    mod = importlib.import_module(m)
    print(f"  {m} {getattr(mod, '__version__', '?')}")
EOF
echo "$want" > "$stamp"
echo "python-clients: ready in $(( $(date +%s) - start )) s"
