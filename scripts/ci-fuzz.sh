#!/usr/bin/env bash
# CI step: builds the libFuzzer targets (fuzz/, clang + ASan + UBSan, the "fuzz" preset) and runs
# each for a bounded number of inputs on its seed corpus in fuzz/corpus/<target> (copied: the
# repository's corpus is never modified). Bounded by inputs rather than time, so a slow machine
# does the same amount of fuzzing; the seed is fixed (FUZZ_SEED to change it), though exploration
# still varies from run to run (coverage depends on temp paths and addresses). Fails on any crash,
# sanitizer report, timeout (a hang) or out-of-memory; the reproducer is left in $FUZZ_OUT
# (default build-fuzz/findings): fix the parser, then keep the input in fuzz/regressions/<target>
# (the tests rerun it).
#   Usage: scripts/ci-fuzz.sh [inputs per target, default 60000] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-60000}
seed=${FUZZ_SEED:-1}
shift || true

scripts/install-deps.sh --clang

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for d in fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi
out=${FUZZ_OUT:-build-fuzz/findings}
mkdir -p "$out"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=1
failed=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  echo "== $t: $runs inputs, seed $seed"
  # -rss_limit_mb / -malloc_limit_mb: no input may make a parser allocate without bound
  # (sizes are checked against the file before allocating); -timeout: no input may hang.
  if ! "build-fuzz/fuzz/fuzz_$t" -runs="$runs" -seed="$seed" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=512 \
      -max_len=65536 -print_final_stats=0 -artifact_prefix="$out/$t-" "$work" "fuzz/corpus/$t" \
      >"$out/$t.log" 2>&1; then
    echo "FAILED: $t (reproducer and log in $out/)"
    tail -n 40 "$out/$t.log"
    failed=1
  else
    grep -E "^Done [0-9]+ runs" "$out/$t.log" || tail -n 2 "$out/$t.log"
  fi
  rm -rf "$work"
done
exit $failed
