// Attention: attention_forward/attention_backward (causal, S²-Attn shift and roll, packed documents, GQA,
// batch rows of different lengths, f32 and bf16 inputs) and attention_forward_cached (prefill, chunked
// prefill, decode), against tests/unit/attention/reference.h's naive double attention.
//
// Operands are laid out as the model lays them: q, k, v inside one fused QKV buffer with padded token
// rows and a gap between batch rows (NaN, which would poison a result that read it), dq, dk, dv in a
// fused dQKV buffer, o with padded token rows (kSentinel, which must come back unchanged).
//
// Bound, normwise: max|got − ref| ≤ 4·γ_{L+2D+16}·max|ref| for an output of rows of L keys. Each score is a
// dot product of D terms, the online softmax sums ≤ L exponentials (each within 2 ulp, plus the
// argument's rounding), o and the gradients sum ≤ L (dk, dv: ≤ L·Hq/Hkv) products of those, and dS adds
// one more D-term dot product; the factor 4 covers the magnitudes |P|·|v| of these random inputs (q, k of
// spread 1.5) exceeding max|ref| by a small factor. For L = 21, D = 12 that is 2.0e-5.
#include "backend/harness.h"
#include "unit/attention/reference.h"

namespace ll::backend_test {
namespace {

class BackendAttention : public BackendTest {};
INSTANTIATE_BACKEND_SUITE(BackendAttention);

double attention_tolerance(int64_t keys, int64_t head_dim) { return 4 * gamma_f32(keys + 2 * head_dim + 16); }

std::vector<double> normwise_bound(const std::vector<double>& ref, double tol) {
  double scale = 0;
  for (double r : ref) scale = std::max(scale, std::fabs(r));
  return std::vector<double>(ref.size(), tol * scale);
}

// A [B, T, H, D] operand (contiguous in `values`) placed at `offset` inside rows of a fused buffer.
struct Fused {
  int64_t B, T, width, token_stride, batch_stride;  // width: the floats of one token's q, k and v

  size_t size() const { return static_cast<size_t>(B * batch_stride); }
  size_t at(int64_t b, int64_t t, int64_t e) const { return static_cast<size_t>(b * batch_stride + t * token_stride + e); }
  // Writes values [B, T, H·D] at columns [offset, offset + H·D) of every token row.
  template <class V, class Out, class Convert>
  void place(Out& buffer, const V& values, int64_t offset, int64_t HD, const Convert& convert) const {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t e = 0; e < HD; ++e) buffer[at(b, t, offset + e)] = convert(values[(b * T + t) * HD + e]);
  }
  // Reads [B, T, H·D] back out of columns [offset, offset + H·D).
  std::vector<float> take(const std::vector<float>& buffer, int64_t offset, int64_t HD) const {
    std::vector<float> out(B * T * HD);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t e = 0; e < HD; ++e) out[(b * T + t) * HD + e] = buffer[at(b, t, offset + e)];
    return out;
  }
  HeadsView view(void* data, DType dtype, int64_t offset) const {
    return {static_cast<char*>(data) + offset * static_cast<int64_t>(dtype_size(dtype)), dtype, batch_stride, token_stride};
  }
};

// A layout of `width` floats per token with 3 floats of padding per token and 5 between batch rows.
Fused fused_layout(int64_t B, int64_t T, int64_t width) { return {B, T, width, width + 3, T * (width + 3) + 5}; }

// The operands of a problem in a fused buffer of `dtype` (f32 or bf16 bits), NaN in the padding.
struct FusedInputs {
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
};

FusedInputs fused_inputs(const Fused& L, DType dtype, const std::vector<std::pair<const std::vector<double>*, int64_t>>& parts,
                         int64_t D) {
  FusedInputs in;
  if (dtype == DType::F32) in.f32.assign(L.size(), kNaN);
  else in.bf16.assign(L.size(), 0x7fc0);
  for (const auto& [values, heads_offset] : parts) {
    const int64_t HD = static_cast<int64_t>(values->size()) / (L.B * L.T);
    if (dtype == DType::F32)
      L.place(in.f32, *values, heads_offset * D, HD, [](double v) { return static_cast<float>(v); });
    else
      L.place(in.bf16, *values, heads_offset * D, HD, [](double v) { return bf16_nearest_even(static_cast<float>(v)); });
  }
  return in;
}

struct AttentionCase {
  std::string name;
  std::vector<int64_t> lengths;  // T = the largest
  int64_t q_heads, kv_heads, head_dim;
  AttentionMode mode;
  int64_t group;  // 0: s2_ratio 1/4 of each row's length
  std::vector<std::vector<int64_t>> docs;
};

const AttentionCase kCases[] = {
    {"causal, GQA 2, rows 13/9/1", {13, 9, 1}, 4, 2, 10, AttentionMode::Causal, 0, {}},
    {"S2 shift G=5, GQA across the head halves", {17, 12}, 6, 3, 12, AttentionMode::S2Shift, 5, {}},
    {"S2 roll, G from ratio 1/4 (4 and 3)", {19, 14}, 4, 4, 8, AttentionMode::S2Roll, 0, {}},
    {"S2 roll G=6, packed documents", {21}, 2, 1, 10, AttentionMode::S2Roll, 6, {{8, 15}}},
    {"causal, packed documents, D=9", {15, 11}, 3, 1, 9, AttentionMode::Causal, 0, {{4, 10}, {0, 6}}},
    {"S2 shift G=6, packed documents", {16, 13}, 4, 2, 8, AttentionMode::S2Shift, 6, {{5, 9}, {7}}},
};

attn_test::Problem make_problem(const AttentionCase& c, uint64_t seed) {
  const AttentionShape shape = attn_test::padded_shape(c.lengths, c.q_heads, c.kv_heads, c.head_dim);
  AttentionMask mask;
  mask.mode = c.mode;
  mask.s2_group = c.group;
  mask.doc_starts = c.docs;
  return attn_test::random_problem(shape, mask, seed);
}

TEST_P(BackendAttention, ForwardAndBackward) {
  Backend& b = backend();
  std::mt19937 rng(50);
  uint64_t seed = 500;
  for (const AttentionCase& c : kCases)
    for (DType dtype : {DType::F32, DType::BF16}) {
      SCOPED_TRACE(c.name + ", " + dtype_name(dtype) + " inputs");
      Arena scratch(b, 0);
      attn_test::Problem p = make_problem(c, ++seed);
      if (dtype == DType::BF16) attn_test::round_inputs_to_bf16(p);  // the reference sees what the op reads
      const attn_test::Outputs ref = attn_test::reference_attention(p);
      const AttentionShape& sh = p.shape;
      const int64_t B = sh.batch, T = sh.max_len, Hq = sh.q_heads, Hkv = sh.kv_heads, D = sh.head_dim;

      const Fused qkv = fused_layout(B, T, (Hq + 2 * Hkv) * D);
      const FusedInputs host_in = fused_inputs(qkv, dtype, {{&p.q, 0}, {&p.k, Hq}, {&p.v, Hq + Hkv}}, D);
      const Fused o_layout = fused_layout(B, T, Hq * D);
      const FusedInputs host_dout = fused_inputs(o_layout, dtype, {{&p.dout, 0}}, D);
      DeviceArray<float> in_f32(b, dtype == DType::F32 ? host_in.f32 : std::vector<float>(1));
      DeviceArray<uint16_t> in_bf16(b, dtype == DType::BF16 ? host_in.bf16 : std::vector<uint16_t>(1));
      DeviceArray<float> dout_f32(b, dtype == DType::F32 ? host_dout.f32 : std::vector<float>(1));
      DeviceArray<uint16_t> dout_bf16(b, dtype == DType::BF16 ? host_dout.bf16 : std::vector<uint16_t>(1));
      void* in_data = dtype == DType::F32 ? static_cast<void*>(in_f32.data()) : in_bf16.data();
      void* dout_data = dtype == DType::F32 ? static_cast<void*>(dout_f32.data()) : dout_bf16.data();
      const AttentionQKV in{qkv.view(in_data, dtype, 0), qkv.view(in_data, dtype, Hq * D), qkv.view(in_data, dtype, (Hq + Hkv) * D)};

      // Outputs start as NaN where written and kSentinel in the padding; rows past a row's length must
      // come back as zeros (the reference has zeros there).
      std::vector<float> o_init(o_layout.size(), kSentinel);
      o_layout.place(o_init, std::vector<double>(B * T * Hq * D, kNaN), 0, Hq * D, [](double v) { return static_cast<float>(v); });
      DeviceArray<float> o(b, o_init), lse(b, std::vector<float>(B * Hq * T, kNaN));
      const HeadsView o_view = o_layout.view(o.data(), DType::F32, 0);
      b.attention_forward(sh, p.mask, in, o_view, lse.data(), scratch);
      const std::vector<float> o_got = o.read();
      const double tol = attention_tolerance(T, D);
      expect_within(o_layout.take(o_got, 0, Hq * D), ref.o, normwise_bound(ref.o, tol), "o");
      expect_within(lse.read(), ref.lse, normwise_bound(ref.lse, tol), "lse");
      for (size_t i = 0; i < o_got.size(); ++i)
        if (o_init[i] == kSentinel) {
          ASSERT_EQ(o_got[i], kSentinel) << "o's padding at " << i;
        }

      // Backward into a fused dQKV buffer.
      const Fused dqkv = fused_layout(B, T, (Hq + 2 * Hkv) * D);
      std::vector<float> grads_init(dqkv.size(), kSentinel);
      dqkv.place(grads_init, std::vector<double>(B * T * (Hq + 2 * Hkv) * D, kNaN), 0, (Hq + 2 * Hkv) * D,
                 [](double v) { return static_cast<float>(v); });
      DeviceArray<float> grads(b, grads_init);
      const AttentionQKV g{dqkv.view(grads.data(), DType::F32, 0), dqkv.view(grads.data(), DType::F32, Hq * D),
                           dqkv.view(grads.data(), DType::F32, (Hq + Hkv) * D)};
      b.attention_backward(sh, p.mask, in, o_view, lse.data(), o_layout.view(dout_data, dtype, 0), g, scratch);
      EXPECT_LE(scratch.high_water(), b.attention_scratch_bytes(D)) << "attention_scratch_bytes is not a bound";
      const std::vector<float> g_got = grads.read();
      for (size_t i = 0; i < g_got.size(); ++i)
        if (grads_init[i] == kSentinel) {
          ASSERT_EQ(g_got[i], kSentinel) << "dQKV's padding at " << i;
        }
      const double gtol = attention_tolerance(T * (Hq / Hkv), D);
      if (dtype == DType::BF16) {  // rounding is not differentiable: the gradient check is at F32
        expect_within(dqkv.take(g_got, 0, Hq * D), ref.dq, normwise_bound(ref.dq, gtol), "dq");
        expect_within(dqkv.take(g_got, Hq * D, Hkv * D), ref.dk, normwise_bound(ref.dk, gtol), "dk");
        expect_within(dqkv.take(g_got, (Hq + Hkv) * D, Hkv * D), ref.dv, normwise_bound(ref.dv, gtol), "dv");
        continue;
      }
      // L = Σ dout ∘ o, differentiated at 60 sampled elements of each of q, k, v.
      struct Operand {
        const char* name;
        std::vector<double> attn_test::Problem::*values;
        const std::vector<double>& grad;
        int64_t offset, heads;
      };
      for (const Operand& op : {Operand{"dq", &attn_test::Problem::q, ref.dq, 0, Hq},
                                Operand{"dk", &attn_test::Problem::k, ref.dk, Hq * D, Hkv},
                                Operand{"dv", &attn_test::Problem::v, ref.dv, (Hq + Hkv) * D, Hkv}}) {
        attn_test::Problem varied = p;
        const std::vector<double> fd = central_differences(
            p.*op.values,
            [&](const std::vector<double>& x) {
              varied.*op.values = x;
              return attn_test::reference_loss(varied);
            },
            sample_indices((p.*op.values).size(), 60, rng));
        expect_gradient(dqkv.take(g_got, op.offset, op.heads * D), {}, op.grad, fd, normwise_bound(op.grad, gtol), op.name);
      }
    }
}

// Against a KV cache: row 0 a prefill (queries 0..6), row 1 a chunk of a prefill (queries 5..8 after 5
// cached positions), row 2 a decoded token (query 11 after 11). Each row's queries must see exactly the
// causal attention of the full sequence at their positions; cache positions past a row's last query hold
// NaN (never read), query rows past q_len come back as zeros.
TEST_P(BackendAttention, ForwardCached) {
  Backend& b = backend();
  Arena scratch(b, 0);
  const int64_t Hq = 4, Hkv = 2, D = 10, Tq = 7, cache_len = 13;
  CachedAttentionShape cs;
  cs.batch = 3;
  cs.max_queries = Tq;
  cs.cache_len = cache_len;
  cs.q_heads = Hq;
  cs.kv_heads = Hkv;
  cs.head_dim = D;
  cs.q_start = {0, 5, 11};
  cs.q_len = {7, 4, 1};
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(std::string(dtype_name(dtype)) + " q, k, v");
    // One reference problem per row: the causal attention over its first q_start + q_len positions.
    std::vector<double> q_all(cs.batch * Tq * Hq * D, 0.0), o_ref(cs.batch * Tq * Hq * D, 0.0);
    std::vector<double> lse_ref(cs.batch * Hq * Tq, 0.0), k_all(cs.batch * cache_len * Hkv * D, kNaN), v_all = k_all;
    for (int64_t r = 0; r < cs.batch; ++r) {
      const int64_t len = cs.q_start[r] + cs.q_len[r];
      AttentionShape shape;
      shape.max_len = len;
      shape.q_heads = Hq;
      shape.kv_heads = Hkv;
      shape.head_dim = D;
      attn_test::Problem p = attn_test::random_problem(shape, AttentionMask{}, 600 + r + (dtype == DType::BF16 ? 10 : 0));
      if (dtype == DType::BF16) attn_test::round_inputs_to_bf16(p);
      const attn_test::Outputs ref = attn_test::reference_attention(p, /*with_backward=*/false);
      for (int64_t i = 0; i < cs.q_len[r]; ++i) {
        const int64_t t = cs.q_start[r] + i;
        for (int64_t e = 0; e < Hq * D; ++e) {
          q_all[(r * Tq + i) * Hq * D + e] = p.q[t * Hq * D + e];
          o_ref[(r * Tq + i) * Hq * D + e] = ref.o[t * Hq * D + e];
        }
        for (int64_t h = 0; h < Hq; ++h) lse_ref[(r * Hq + h) * Tq + i] = ref.lse[h * len + t];
      }
      for (int64_t t = 0; t < len; ++t)
        for (int64_t e = 0; e < Hkv * D; ++e) {
          k_all[(r * cache_len + t) * Hkv * D + e] = p.k[t * Hkv * D + e];
          v_all[(r * cache_len + t) * Hkv * D + e] = p.v[t * Hkv * D + e];
        }
    }
    // q in its own padded buffer; k and v side by side in one cache buffer.
    const Fused q_layout = fused_layout(cs.batch, Tq, Hq * D), kv_layout = fused_layout(cs.batch, cache_len, 2 * Hkv * D);
    const FusedInputs q_host = fused_inputs(q_layout, dtype, {{&q_all, 0}}, D);
    const FusedInputs kv_host = fused_inputs(kv_layout, dtype, {{&k_all, 0}, {&v_all, Hkv}}, D);
    DeviceArray<float> q32(b, dtype == DType::F32 ? q_host.f32 : std::vector<float>(1));
    DeviceArray<float> kv32(b, dtype == DType::F32 ? kv_host.f32 : std::vector<float>(1));
    DeviceArray<uint16_t> q16(b, dtype == DType::BF16 ? q_host.bf16 : std::vector<uint16_t>(1));
    DeviceArray<uint16_t> kv16(b, dtype == DType::BF16 ? kv_host.bf16 : std::vector<uint16_t>(1));
    void* qd = dtype == DType::F32 ? static_cast<void*>(q32.data()) : q16.data();
    void* kvd = dtype == DType::F32 ? static_cast<void*>(kv32.data()) : kv16.data();
    const AttentionQKV in{q_layout.view(qd, dtype, 0), kv_layout.view(kvd, dtype, 0), kv_layout.view(kvd, dtype, Hkv * D)};
    DeviceArray<float> o(b, std::vector<float>(cs.batch * Tq * Hq * D, kNaN)), lse(b, std::vector<float>(cs.batch * Hq * Tq, kNaN));
    b.attention_forward_cached(cs, in, contiguous_heads(o.data(), DType::F32, Tq, Hq, D), lse.data(), scratch);
    const double tol = attention_tolerance(cache_len, D);
    expect_within(o.read(), o_ref, normwise_bound(o_ref, tol), "o");
    expect_within(lse.read(), lse_ref, normwise_bound(lse_ref, tol), "lse");
  }
}

}  // namespace
}  // namespace ll::backend_test
