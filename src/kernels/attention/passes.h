// The passes of flash attention over a plan (plan.h), with the tile arithmetic of one instruction
// set (tile_kernels.h). Inputs are validated by attention.cpp before they get here.
#pragma once
#include <cstdint>

#include "core/arena.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/plan.h"
#include "kernels/attention/tile_kernels.h"

namespace ll::attn {

// Per-thread scratch of each pass, in floats (depends on D and the tiles only).
int64_t forward_scratch_floats(int64_t head_dim, int query_tile, int key_tile);
int64_t backward_scratch_floats(int64_t head_dim, int query_tile, int key_tile);

// Forward over plan.query_tasks: o (and lse unless nullptr; [B, Hq, plan.query_rows]) for every query.
// Padding rows are left alone (the caller zeroes them).
void flash_forward(const AttentionPlan& plan, const AttentionQKV& in, const HeadsView& o, float* lse,
                   Arena& scratch, const TileKernels& kernels);

// Backward: the dq pass over plan.query_tasks, then the dk/dv pass over plan.key_tasks. Writes every
// non-padding row of grads.
void flash_backward(const AttentionPlan& plan, const AttentionQKV& in, const HeadsView& o, const float* lse,
                    const HeadsView& dout, const AttentionQKV& grads, Arena& scratch, const TileKernels& kernels);

// Scores: masked keys after queries. key_minus_query = first key position − first query position.
// Transposed tile s[key c][query r] (ld floats per key row): −inf where c + key_minus_query > r.
void mask_future_keys_transposed(float* s, int64_t ld, int keys, int queries, int64_t key_minus_query);
// Tile s[query r][key c]: −inf where c + key_minus_query > r, and in the padding columns [keys, cols).
void mask_future_keys(float* s, int64_t ld, int queries, int keys, int cols, int64_t key_minus_query);

}  // namespace ll::attn
