// The measuring CPU backend (make_measuring_cpu_backend), on which the memory plan dry-runs the real
// training and inference passes: allocations are counted, no op writes anything, and every op with
// scratch takes from a measuring Arena exactly what the real op takes from a real one.
#include <array>
#include <memory>

#include "backend/cpu_backend.h"
#include "backend/harness.h"
#include "unit/attention/reference.h"

namespace ll::backend_test {
namespace {

class MeasuringCpuBackend : public CpuPathTest {
 protected:
  std::unique_ptr<Backend> measuring = make_measuring_cpu_backend(/*threads=*/0);  // this process's threads
  const CpuBackend& counts() const { return dynamic_cast<const CpuBackend&>(*measuring); }
};

TEST_F(MeasuringCpuBackend, CountsAllocations) {
  Backend& m = *measuring;
  EXPECT_TRUE(m.measuring());
  EXPECT_FALSE(m.host_accessible());
  EXPECT_EQ(m.device(), cpu_backend().device());
  EXPECT_EQ(counts().measured_in_use(), 0u);
  void* a = m.allocate(100);
  void* b = m.allocate(1000);
  EXPECT_NE(a, b);
  EXPECT_EQ(counts().measured_in_use(), 128u + 1024u) << "bytes rounded up to 64";
  m.deallocate(a, 100);
  EXPECT_EQ(counts().measured_in_use(), 1024u);
  EXPECT_EQ(counts().measured_peak(), 1152u);
  {
    OwnedTensor t(m, DType::F32, {7, 9});  // 252 bytes
    EXPECT_EQ(counts().measured_in_use(), 1024u + 256u);
  }
  EXPECT_EQ(counts().measured_in_use(), 1024u);
  // A weight prepared at BF16 from f32 is a copy; at F32 the CPU reads it in place.
  std::vector<float> w(13 * 27, 0.5f);
  GemmWeight copy, in_place;
  m.prepare_weight(copy, Tensor::view(w.data(), DType::F32, {13, 27}), Precision::BF16);
  const size_t copy_bytes = aligned_size(copy.view.nbytes());
  EXPECT_EQ(counts().measured_in_use(), 1024u + copy_bytes);
  m.prepare_weight(in_place, Tensor::view(w.data(), DType::F32, {13, 27}), Precision::F32);
  EXPECT_EQ(in_place.view.data, w.data());
  copy = GemmWeight();
  EXPECT_EQ(counts().measured_in_use(), 1024u);
  m.deallocate(b, 1000);
  EXPECT_EQ(counts().measured_in_use(), 0u);
  EXPECT_EQ(counts().measured_peak(), std::max<size_t>(1024u + 256u, 1024u + copy_bytes)) << "the peak of all above";
}

// Host buffers of every operand, filled with random values: a measuring op given them must leave
// every byte as it was (the memory plan hands its ops addresses that are never mapped).
struct Operands {
  static constexpr int64_t M = 11, K = 37, N = 23, r = 5, V = 29, T = 13, Hq = 4, Hkv = 2, D = 10;
  std::vector<float> x, y, dy, dx, w, dw, rstd, t, gate_up, h, table, logits, qkv, o, lse, dout, grads, m, v, flat;
  std::vector<int32_t> ids, pos, targets;
  std::vector<uint16_t> table_bf16;

  explicit Operands(std::mt19937& rng) {
    auto fill = [&](std::vector<float>& v, int64_t n) { v = nonzero_floats(n, rng); };
    fill(x, M * K), fill(y, M * N), fill(dy, M * N), fill(dx, M * K), fill(w, N * K), fill(dw, N * K);
    fill(rstd, M), fill(t, M * r), fill(gate_up, M * 2 * K), fill(h, M * K), fill(table, V * K);
    fill(logits, M * V), fill(qkv, T * (Hq + 2 * Hkv) * D), fill(o, T * Hq * D), fill(lse, Hq * T);
    fill(dout, T * Hq * D), fill(grads, T * (Hq + 2 * Hkv) * D), fill(m, N * K), fill(v, N * K), fill(flat, N * K);
    ids = {3, 0, 28, 3, 7, 1, 9, 9, 2, 4, 5};
    pos = {4, 0, 12, 3, 3, 1, 2, 9, 10, 5, 6};
    targets = {5, -100, 28, 0, 7, 1, 2, 3, -100, 4, 6};
    table_bf16 = to_bf16_bits(table);
  }
  std::vector<std::vector<float>*> all() {
    return {&x, &y, &dy, &dx, &w, &dw, &rstd, &t, &gate_up, &h, &table, &logits, &qkv, &o, &lse, &dout, &grads, &m, &v, &flat};
  }
};

TEST_F(MeasuringCpuBackend, OpsWriteNothing) {
  Backend& mb = *measuring;
  std::mt19937 rng(70);
  Operands ops(rng);
  using O = Operands;
  std::vector<std::vector<float>> before;
  for (auto* v : ops.all()) before.push_back(*v);
  const std::vector<int32_t> ids = ops.ids, pos = ops.pos, targets = ops.targets;
  Arena scratch(mb, 0);

  mb.fill_zero(ops.x.data(), ops.x.size() * sizeof(float));
  mb.upload(ops.x.data(), ops.y.data(), ops.y.size() * sizeof(float));
  mb.download(ops.x.data(), ops.y.data(), ops.y.size() * sizeof(float));
  mb.copy(ops.x.data(), ops.y.data(), ops.y.size() * sizeof(float));
  mb.copy_rows(ops.x.data(), O::K, ops.y.data(), O::N, 5, 7);
  mb.convert_rows(ops.x.data(), DType::BF16, O::K, ops.y.data(), O::N, 5, 7);
  mb.load_as_f32(ops.x.data(), Tensor::view(ops.table_bf16.data(), DType::BF16, {O::M * O::K}));
  for (Precision p : {Precision::F32, Precision::BF16}) {
    GemmWeight w, a, b;
    mb.prepare_weight(w, Tensor::view(ops.w.data(), DType::F32, {O::N, O::K}), p);
    mb.prepare_weight(a, Tensor::view(ops.w.data(), DType::F32, {O::r, O::K}), p);
    mb.prepare_weight(b, Tensor::view(ops.w.data(), DType::F32, {O::N, O::r}), p);
    mb.linear_forward(ops.y.data(), O::N, ops.x.data(), O::K, O::M, w, false, scratch);
    mb.linear_backward_input(ops.dx.data(), O::K, ops.dy.data(), O::N, O::M, w, true, scratch);
    mb.linear_backward_weight(ops.dw.data(), ops.dy.data(), O::N, ops.x.data(), O::K, O::M, O::N, O::K, p, true, scratch);
    const LoraOp lora{&a, &b, ops.m.data(), ops.v.data(), 2.0f, 0.1f, 3};
    const DropoutContext ctx{.seed = 1, .step = 2, .training = true};
    mb.lora_forward(lora, ops.y.data(), O::N, ops.x.data(), O::K, O::M, ops.t.data(), ctx, scratch);
    mb.lora_backward(lora, ops.dx.data(), O::K, ops.dy.data(), O::N, ops.x.data(), O::K, ops.t.data(), O::M, ctx, scratch);
  }
  mb.bias_forward(ops.y.data(), O::N, O::M, ops.flat.data(), O::N);
  mb.bias_backward(ops.flat.data(), ops.dy.data(), O::N, O::M, O::N);
  mb.rmsnorm_forward(ops.y.data(), ops.rstd.data(), ops.x.data(), ops.w.data(), O::M, O::K, 1e-5f);
  mb.rmsnorm_backward(ops.dx.data(), ops.dw.data(), ops.dy.data(), ops.x.data(), ops.w.data(), ops.rstd.data(), O::M, O::K);
  const RopeTable table(O::D, 10000.0, 1.0, 16, mb);
  mb.rope_forward(ops.qkv.data(), pos.data(), O::T - 2, O::Hq, O::D, (O::Hq + 2 * O::Hkv) * O::D, table);
  mb.rope_backward(ops.grads.data(), pos.data(), O::T - 2, O::Hq, O::D, (O::Hq + 2 * O::Hkv) * O::D, table);
  mb.swiglu_forward(ops.h.data(), ops.gate_up.data(), O::M, O::K);
  mb.swiglu_backward(ops.gate_up.data(), ops.h.data(), ops.gate_up.data(), O::M, O::K);
  mb.round_to_bf16(ops.x.data(), ops.x.data(), O::M * O::K);
  mb.embedding_forward(ops.h.data(), ids.data(), O::M, Tensor::view(ops.table.data(), DType::F32, {O::V, O::K}));
  mb.embedding_backward(ops.table.data(), ops.h.data(), ids.data(), O::M, O::V, O::K);
  mb.cross_entropy_loss(ops.logits.data(), targets.data(), O::M, O::V);
  mb.softmax_cross_entropy(ops.logits.data(), targets.data(), O::M, O::V, 0.5f);
  AttentionShape shape;
  shape.max_len = O::T;
  shape.q_heads = O::Hq;
  shape.kv_heads = O::Hkv;
  shape.head_dim = O::D;
  const int64_t ts = (O::Hq + 2 * O::Hkv) * O::D;
  const AttentionQKV in{{ops.qkv.data(), DType::F32, O::T * ts, ts},
                        {ops.qkv.data() + O::Hq * O::D, DType::F32, O::T * ts, ts},
                        {ops.qkv.data() + (O::Hq + O::Hkv) * O::D, DType::F32, O::T * ts, ts}};
  const AttentionQKV grads{{ops.grads.data(), DType::F32, O::T * ts, ts},
                           {ops.grads.data() + O::Hq * O::D, DType::F32, O::T * ts, ts},
                           {ops.grads.data() + (O::Hq + O::Hkv) * O::D, DType::F32, O::T * ts, ts}};
  const HeadsView o = contiguous_heads(ops.o.data(), DType::F32, O::T, O::Hq, O::D);
  AttentionMask mask;
  mask.mode = AttentionMode::S2Shift;
  mb.attention_forward(shape, mask, in, o, ops.lse.data(), scratch);
  mb.attention_backward(shape, mask, in, o, ops.lse.data(), contiguous_heads(ops.dout.data(), DType::F32, O::T, O::Hq, O::D),
                        grads, scratch);
  CachedAttentionShape cs{1, 3, O::T, O::Hq, O::Hkv, O::D, {5}, {3}};
  mb.attention_forward_cached(cs, in, o, ops.lse.data(), scratch);
  AdamWSettings s;
  mb.adamw_step(ops.flat.data(), ops.dw.data(), ops.m.data(), ops.v.data(), O::N * O::K, s, 3);
  mb.sum_of_squares(ops.flat.data(), O::N * O::K);
  mb.scale(ops.flat.data(), O::N * O::K, 0.5f);
  mb.first_non_finite(ops.flat.data(), O::N * O::K);

  const std::vector<std::vector<float>*> after = ops.all();
  for (size_t i = 0; i < after.size(); ++i) expect_bits_equal(*after[i], before[i], "operand " + std::to_string(i));
  EXPECT_EQ(ops.ids, ids);
  EXPECT_EQ(ops.pos, pos);
  EXPECT_EQ(ops.targets, targets);
}

// The scratch each op with scratch takes: the high water of a real Arena after the real op on the CPU
// backend, and of a measuring Arena after the same call on the measuring backend. They must be equal,
// so that the memory plan's dry run holds the op's real scratch, neither less nor more.
class ScratchPair {
 public:
  ScratchPair(Backend& real, Backend& measuring) : real_(real), measuring_(measuring) {}
  // Runs op(backend, arena) on both and returns {real high water, measured high water}.
  template <class Op>
  std::pair<size_t, size_t> run(const Op& op) {
    Arena real_arena(real_, 0), measuring_arena(measuring_, 0);
    op(real_, real_arena);
    op(measuring_, measuring_arena);
    return {real_arena.high_water(), measuring_arena.high_water()};
  }

 private:
  Backend& real_;
  Backend& measuring_;
};

TEST_F(MeasuringCpuBackend, ScratchEqualsTheRealOps) {
  Backend& real = cpu_backend();
  ScratchPair pair(real, *measuring);
  std::mt19937 rng(71);
  Operands ops(rng);
  using O = Operands;
  auto expect_equal = [](std::pair<size_t, size_t> hw, const std::string& what) {
    EXPECT_EQ(hw.second, hw.first) << what << ": the measuring op takes " << hw.second << " bytes, the real one "
                                   << hw.first;
  };
  for (Precision p : {Precision::F32, Precision::BF16})
    for (int64_t M : {int64_t{1}, O::M}) {
      const std::string at = std::string(precision_name(p)) + " M=" + std::to_string(M);
      // Weights prepared on the backend that runs the op.
      auto weights = [&](Backend& b) {
        auto w = std::make_unique<std::array<GemmWeight, 3>>();
        b.prepare_weight((*w)[0], Tensor::view(ops.w.data(), DType::F32, {O::N, O::K}), p);
        b.prepare_weight((*w)[1], Tensor::view(ops.w.data(), DType::F32, {O::r, O::K}), p);
        b.prepare_weight((*w)[2], Tensor::view(ops.w.data(), DType::F32, {O::N, O::r}), p);
        return w;
      };
      expect_equal(pair.run([&](Backend& b, Arena& a) {
        b.linear_forward(ops.y.data(), O::N, ops.x.data(), O::K, M, (*weights(b))[0], false, a);
      }), "linear_forward " + at);
      expect_equal(pair.run([&](Backend& b, Arena& a) {
        b.linear_backward_input(ops.dx.data(), O::K, ops.dy.data(), O::N, M, (*weights(b))[0], true, a);
      }), "linear_backward_input " + at);
      expect_equal(pair.run([&](Backend& b, Arena& a) {
        b.linear_backward_weight(ops.dw.data(), ops.dy.data(), O::N, ops.x.data(), O::K, M, O::N, O::K, p, true, a);
      }), "linear_backward_weight " + at);
      for (bool training : {false, true})
        for (bool with_dx : {false, true}) {
          const std::string lora_at = at + (training ? " dropout" : "") + (with_dx ? " dx" : "");
          const DropoutContext ctx{.seed = 1, .step = 2, .training = training};
          auto lora = [&](const std::array<GemmWeight, 3>& w, bool trainable) {
            return LoraOp{&w[1], &w[2], trainable ? ops.m.data() : nullptr, trainable ? ops.v.data() : nullptr, 2.0f, 0.1f, 3};
          };
          expect_equal(pair.run([&](Backend& b, Arena& a) {
            const auto w = weights(b);
            b.lora_forward(lora(*w, true), ops.y.data(), O::N, ops.x.data(), O::K, M, ops.t.data(), ctx, a);
          }), "lora_forward " + lora_at);
          expect_equal(pair.run([&](Backend& b, Arena& a) {
            const auto w = weights(b);
            b.lora_backward(lora(*w, true), with_dx ? ops.dx.data() : nullptr, O::K, ops.dy.data(), O::N, ops.x.data(),
                            O::K, ops.t.data(), M, ctx, a);
          }), "lora_backward " + lora_at);
        }
    }

  // Attention: a small call (whose forward the CPU runs on one thread) and a larger one, f32 and bf16.
  for (int64_t T : {13, 300}) {
    attn_test::Problem p = attn_test::random_problem({1, T, O::Hq, O::Hkv, 64, {}}, AttentionMask{}, 72);
    std::vector<float> q(p.q.begin(), p.q.end()), k(p.k.begin(), p.k.end()), v(p.v.begin(), p.v.end());
    std::vector<float> dout(p.dout.begin(), p.dout.end()), o(q.size()), lse(O::Hq * T), dq(q.size()), dk(k.size()), dv(v.size());
    const AttentionQKV in{contiguous_heads(q.data(), DType::F32, T, O::Hq, 64), contiguous_heads(k.data(), DType::F32, T, O::Hkv, 64),
                          contiguous_heads(v.data(), DType::F32, T, O::Hkv, 64)};
    const AttentionQKV g{contiguous_heads(dq.data(), DType::F32, T, O::Hq, 64), contiguous_heads(dk.data(), DType::F32, T, O::Hkv, 64),
                         contiguous_heads(dv.data(), DType::F32, T, O::Hkv, 64)};
    const HeadsView ov = contiguous_heads(o.data(), DType::F32, T, O::Hq, 64);
    const std::string at = "T=" + std::to_string(T);
    AttentionMask mask;
    mask.mode = AttentionMode::S2Shift;
    expect_equal(pair.run([&](Backend& b, Arena& a) { b.attention_forward(p.shape, mask, in, ov, lse.data(), a); }),
                 "attention_forward " + at);
    expect_equal(pair.run([&](Backend& b, Arena& a) {
      b.attention_backward(p.shape, mask, in, ov, lse.data(), contiguous_heads(dout.data(), DType::F32, T, O::Hq, 64), g, a);
    }), "attention_backward " + at);
    const CachedAttentionShape cs{1, 1, T, O::Hq, O::Hkv, 64, {T - 1}, {1}};
    expect_equal(pair.run([&](Backend& b, Arena& a) { b.attention_forward_cached(cs, in, ov, lse.data(), a); }),
                 "attention_forward_cached (decode) " + at);
  }
}

}  // namespace
}  // namespace ll::backend_test
