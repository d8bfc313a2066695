#!/usr/bin/env bash
# One LongLoRA training step of LLaMA-2-7B (issue 14): LoRA+ r8 on q/k/v/o with trainable embed and
# norms, S²-Attn 1/4, checkpointing, bf16 compute, batch 1, at each context given (default 2048
# and 8192). For each: the plan (`longlora info`), then bench_train_step on a real-size shaped
# checkpoint (scripts/make-shaped-checkpoint.py: sparse zero-filled safetensors, no disk cost) —
# step time, tokens/s, GFLOP/s (model/step_flops.h) against the GEMM ceiling, and peak RSS against
# the plan. Paste the output into docs/perf.md.
#
# Needs an idle machine (the figures are wall-clock) and ~20 GiB of free memory; a step takes
# minutes (the 2,048-token one ~4–5 minutes on 2 cores, 8,192 several times that).
#
# --recompute-attention: checkpoints of the layer inputs only (attention recomputed in the backward).
#
# usage: bench/7b-step.sh [--contexts "2048 8192"] [--threads N] [--work DIR] [--config FILE]
#                         [--recompute-attention]
set -euo pipefail
cd "$(dirname "$0")/.."
contexts="2048 8192"
threads=$(nproc)
work=${TMPDIR:-/tmp}/longlora-7b
config=bench/configs/llama2-7b.json
recompute=()
while [ $# -gt 0 ]; do
  case "$1" in
    --contexts) contexts=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --recompute-attention) recompute=(--recompute-attention); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for bin in build/longlora build/bench/bench_train_step; do
  [ -x "$bin" ] || { echo "$bin is missing: build first (scripts/build.sh)" >&2; exit 2; }
done
model=$work/$(basename "$config" .json)-shaped
if [ ! -f "$model/config.json" ]; then
  scripts/make-shaped-checkpoint.py --config "$config" --out "$model" \
    --tokenizer ../shared/data/llama2-tokenizer.model
fi
echo "machine: $(nproc) cores, $(awk '/MemAvailable/ {printf "%.1f GiB available", $2 / 1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $contexts; do
  echo
  echo "== context $n =="
  build/longlora info --model "$model" --context "$n" --threads "$threads" "${recompute[@]}" | sed -n '/^training at/,$p'
  build/bench/bench_train_step --model "$model" --context "$n" --dtype bf16 --checkpointing on \
    --steps 1 --warmup 0 --trailing 0 --peer none --threads "$threads" \
    --recompute-attention "$([ ${#recompute[@]} -gt 0 ] && echo 1 || echo 0)"
done
