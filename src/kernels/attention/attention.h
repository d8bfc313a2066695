// Flash attention over causal segments: longlora's one attention kernel (DESIGN.md §2 "S²-Attn", §4).
//
//   o[b, t, h] = Σ_s softmax_s( q[b, t, h] · k[b, s, g] / √D  over the keys s that t sees ) · v[b, s, g]
//   g = h / (Hq / Hkv)                                  (GQA: a group of query heads shares one KV head)
//
// computed tile by tile with an online softmax, so neither N×N nor G×G scores ever exist: the scratch
// is a few tiles per thread, independent of N. The forward saves lse = log Σ_s exp(score) per (row,
// head, query); the backward recomputes the probabilities from q, k and lse (FlashAttention-2 style).
//
// Which keys a query sees, in a row of N = len[b] tokens:
//   Causal   keys s ≤ t.  Inference, eval, passkey and `--full-attn` training.
//   S2Shift  S²-Attn as LongLoRA's flash-attention path computes it (its released models): heads
//            [0, Hq/2) see causally inside segments [0,G), [G,2G), …; heads [Hq/2, Hq) inside
//            [0,G/2), [G/2,3G/2), …, clipped at N. Nothing moves in memory and nothing wraps.
//   S2Roll   the paper's Algorithm 1 (`--s2-variant roll`): heads [Hq/2, Hq) are rolled by −G/2 along
//            the sequence (torch.roll(x, -(G/2))), attend causally inside groups of G of the rolled
//            order and are rolled back. The last rolled group wraps around: tokens [N−G/2, N) then
//            [0, G/2), in that causal order; when G does not divide N the last group is partial.
//   G = s2_group when set, otherwise max(1, floor(s2_ratio · N)) with N the row's own length, so a
//   batch gives exactly the per-row results. N ≤ G means Causal for every head. G/2 and Hq/2 are floor
//   divisions; with GQA the halves are halves of the QUERY heads (one KV head may serve both).
//   (LongLoRA's own roll code shifts by Python's -G//2, which differs from -(G//2) for odd G only.)
// Packed documents (doc_starts, `--doc-mask`, off by default like LongLoRA): additionally a query
// never sees a key of another document. Every token keeps its absolute position: RoPE is applied by
// the caller before attention, the kernel never sees positions. Scale = 1/√D.
//
// Operands are strided views, so q, k, v are read straight out of a fused QKV projection
// [B, T, (Hq + 2·Hkv)·D] and dq, dk, dv land straight in a fused dQKV buffer (see HeadsView).
// q, k, v, dout may be f32, bf16 or f16 (widened exactly; all arithmetic is f32); o, dq, dk, dv are f32.
// (A 16-bit KV cache holds k and v in bf16 or f16: model/kv_cache.h.)
//
// Threads: OpenMP over (row, head, query tile) in the forward and the dq pass, over (row, KV head, key
// block) in the dk/dv pass; every output element is written by exactly one task in a fixed order, so
// results are deterministic and bit-identical for any thread count.
// Memory: per thread a few [tile × D] buffers from the caller's Arena (attention_scratch_bytes), plus
// a heap plan of O(B·Hq·N / tile + segments) small records. Never O(N²) or O(G²).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/arena.h"
#include "core/cpu_isa.h"
#include "core/dtype.h"

namespace ll {

// One of q, k, v, o, dout, dq, dk, dv as [B, T, H, D] with free batch and token strides: element
// (b, t, h, d) lives at data + (b·batch_stride + t·token_stride + h·D + d) elements.
// A fused QKV buffer [B, T, (Hq + 2·Hkv)·D] gives q at data, k at data + Hq·D, v at data + (Hq+Hkv)·D,
// all with token_stride (Hq + 2·Hkv)·D and batch_stride T·token_stride.
struct HeadsView {
  void* data = nullptr;
  DType dtype = DType::F32;
  int64_t batch_stride = 0;  // elements between rows b and b+1
  int64_t token_stride = 0;  // elements between tokens t and t+1
};

// A contiguous [B, T, H, D] buffer.
inline HeadsView contiguous_heads(void* data, DType dtype, int64_t T, int64_t H, int64_t D) {
  return {data, dtype, T * H * D, H * D};
}

struct AttentionQKV {
  HeadsView q;  // [B, T, Hq, D]
  HeadsView k;  // [B, T, Hkv, D]
  HeadsView v;  // [B, T, Hkv, D]
};

enum class AttentionMode : uint8_t { Causal, S2Shift, S2Roll };
const char* attention_mode_name(AttentionMode mode);  // "causal", "s2-shift", "s2-roll"

struct AttentionMask {
  AttentionMode mode = AttentionMode::Causal;
  double s2_ratio = 0.25;  // G = floor(ratio · len[b]) (min 1) when s2_group is 0; ratio in (0, 1]
  int64_t s2_group = 0;    // explicit G (`--s2-group`), > 0; 0 = use s2_ratio
  // Packed documents: empty = no document mask; otherwise one list per batch row of the offsets
  // where its documents start, strictly increasing, each in [0, len[b]) (0 may be omitted).
  std::vector<std::vector<int64_t>> doc_starts;
};

// The most positions one query of a row of `len` tokens attends to, itself included: len (Causal, or
// len ≤ G), else G (no S² segment is longer; a rolled group's wrapped keys lie after its queries). What
// a sliding window of that many positions would leave unchanged.
int64_t max_attention_span(const AttentionMask& mask, int64_t len);

struct AttentionShape {
  int64_t batch = 1;     // B
  int64_t max_len = 0;   // T: tokens per row of every operand
  int64_t q_heads = 0;   // Hq
  int64_t kv_heads = 0;  // Hkv, divides Hq
  int64_t head_dim = 0;  // D
  // len[b] ≤ T: the tokens of row b are [0, len[b]); empty = every row is T long. Rows t ≥ len[b] of
  // every output are written as zeros (lse too), so padding never carries garbage into a GEMM.
  std::vector<int64_t> lengths;
};

// The tile kernels exist for each CPU path (core/cpu_isa.h): Portable is plain C++; Avx2 is
// hand-written AVX2+FMA; Avx512 is the portable source compiled for x86-64-v4. Tests force each
// available path and compare them.
struct AttentionTuning {
  std::optional<CpuIsa> isa;  // the path to run; unset = the process's (cpu_isa())
  int query_tile = 0;  // queries per tile; 0 = default (kDefaultQueryTile)
  int key_tile = 0;    // keys per tile; 0 = default (kDefaultKeyTile)
};
inline constexpr int kDefaultQueryTile = 128;
inline constexpr int kDefaultKeyTile = 64;

// Bytes the kernel takes from the Arena (all threads, forward or backward, whichever is larger, with
// the Arena's rounding). Depends on D, the tiles and the thread count only, never on N.
size_t attention_scratch_bytes(int64_t head_dim, int threads, const AttentionTuning& tuning = {});
// What attention_forward (and attention_forward_cached) and attention_backward each ask the Arena for
// in a process of `threads` threads, exactly (a call on an empty shape asks for nothing): a measuring
// backend's dry run takes the same. The forward asks for every thread's tiles even when a small call
// runs on one thread, so that its scratch does not depend on the call's work either.
size_t attention_forward_scratch_bytes(int64_t head_dim, int threads, const AttentionTuning& tuning = {});
size_t attention_backward_scratch_bytes(int64_t head_dim, int threads, const AttentionTuning& tuning = {});

// Forward. o: [B, T, Hq, D] f32. lse: [B, Hq, T] f32 (natural log, per query) for the backward, or
// nullptr when no backward follows (inference, eval).
void attention_forward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                       const HeadsView& o, float* lse, Arena& scratch, const AttentionTuning& tuning = {});

// Backward of the forward above. With P = softmax(S), S = q·kᵀ/√D over the visible keys:
//   dv = Pᵀ·dout,  dP = dout·vᵀ,  dS = P ∘ (dP − rowsum(dout ∘ o)),  dq = dS·k/√D,  dk = dSᵀ·q/√D
// summed over the query heads of each KV head for dk and dv. Needs the forward's o and lse.
// dout: f32 or bf16 in o's layout; grads: f32 views in q/k/v's layouts, OVERWRITTEN (not accumulated),
// and they must not overlap the inputs.
void attention_backward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                        const HeadsView& o, const float* lse, const HeadsView& dout, const AttentionQKV& grads,
                        Arena& scratch, const AttentionTuning& tuning = {});

// Inference against a KV cache, full causal: row b's queries are the positions
// [q_start[b], q_start[b] + q_len[b]) of its sequence and its keys/values the positions
// [0, q_start[b] + q_len[b]) of the cache (k, v with their own strides; their new rows already
// written). Prefill (q_start 0), chunked prefill and decode (q_len 1) are all this call.
struct CachedAttentionShape {
  int64_t batch = 1;        // B
  int64_t max_queries = 0;  // Tq: query rows per batch row of q and o
  int64_t cache_len = 0;    // token capacity of k and v per batch row
  int64_t q_heads = 0;      // Hq
  int64_t kv_heads = 0;     // Hkv
  int64_t head_dim = 0;     // D
  std::vector<int64_t> q_start;  // per row
  std::vector<int64_t> q_len;    // per row, ≤ Tq; q_start + q_len ≤ cache_len
};

// q: [B, Tq, Hq, D]; in.k, in.v: [B, cache_len, Hkv, D]; o: [B, Tq, Hq, D] f32; lse: [B, Hq, Tq] or
// nullptr. Query rows i ≥ q_len[b] of o (and lse) are written as zeros.
void attention_forward_cached(const CachedAttentionShape& shape, const AttentionQKV& in, const HeadsView& o,
                              float* lse, Arena& scratch, const AttentionTuning& tuning = {});

}  // namespace ll
