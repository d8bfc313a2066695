#include "unit/attention/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/arena.h"
#include "core/half.h"

namespace ll::attn_test {

namespace {

int64_t group_size(const AttentionMask& mask, int64_t len) {
  if (mask.s2_group > 0) return mask.s2_group;
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(mask.s2_ratio * static_cast<double>(len))));
}

int64_t document_of(std::span<const int64_t> docs, int64_t t) {
  return std::upper_bound(docs.begin(), docs.end(), t) - docs.begin();
}

std::span<const int64_t> docs_of(const Problem& p, int64_t b) {
  if (p.mask.doc_starts.empty()) return {};
  return p.mask.doc_starts[b];
}

}  // namespace

bool visible(const AttentionMask& mask, int64_t len, int head_class, std::span<const int64_t> docs, int64_t t,
             int64_t s) {
  if (document_of(docs, t) != document_of(docs, s)) return false;
  const int64_t G = group_size(mask, len);
  if (mask.mode == AttentionMode::Causal || len <= G) return s <= t;
  if (head_class == 0) return s / G == t / G && s <= t;  // groups [0,G), [G,2G), …
  const int64_t half = G / 2;
  if (mask.mode == AttentionMode::S2Shift) {  // groups [0,G/2), [G/2, 3G/2), …
    auto group = [&](int64_t x) { return x < half ? int64_t{0} : 1 + (x - half) / G; };
    return group(s) == group(t) && s <= t;
  }
  // S2Roll: the token at position x sits at position (x − G/2) mod N of the rolled sequence.
  auto rolled = [&](int64_t x) { return ((x - half) % len + len) % len; };
  return rolled(s) / G == rolled(t) / G && rolled(s) <= rolled(t);
}

AttentionShape padded_shape(const std::vector<int64_t>& lengths, int64_t q_heads, int64_t kv_heads, int64_t head_dim) {
  AttentionShape shape;
  shape.batch = static_cast<int64_t>(lengths.size());
  shape.max_len = *std::max_element(lengths.begin(), lengths.end());
  shape.lengths = lengths;
  shape.q_heads = q_heads;
  shape.kv_heads = kv_heads;
  shape.head_dim = head_dim;
  return shape;
}

Problem random_problem(const AttentionShape& shape, const AttentionMask& mask, uint64_t seed, double spread) {
  Problem p{shape, mask, {}, {}, {}, {}};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const int64_t T = shape.max_len, D = shape.head_dim;
  auto fill = [&](std::vector<double>& x, int64_t heads, double scale) {
    x.resize(shape.batch * T * heads * D);
    for (double& e : x) e = scale * u(rng);
  };
  fill(p.q, shape.q_heads, spread);
  fill(p.k, shape.kv_heads, spread);
  fill(p.v, shape.kv_heads, 1.0);
  fill(p.dout, shape.q_heads, 1.0);
  return p;
}

void round_inputs_to_bf16(Problem& p) {
  for (auto* x : {&p.q, &p.k, &p.v, &p.dout})
    for (double& e : *x) e = round_to_bf16(static_cast<float>(e));
}

void round_inputs_to_f16(Problem& p) {
  for (auto* x : {&p.q, &p.k, &p.v, &p.dout})
    for (double& e : *x) e = f16_to_f32(f32_to_f16(static_cast<float>(e)));
}

Outputs reference_attention(const Problem& p, bool with_backward) {
  const AttentionShape& sh = p.shape;
  const int64_t T = sh.max_len, Hq = sh.q_heads, Hkv = sh.kv_heads, D = sh.head_dim;
  const int64_t group = Hq / Hkv;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  Outputs out;
  out.o.assign(sh.batch * T * Hq * D, 0.0);
  out.lse.assign(sh.batch * Hq * T, 0.0);
  if (with_backward) {
    out.dq.assign(p.q.size(), 0.0);
    out.dk.assign(p.k.size(), 0.0);
    out.dv.assign(p.v.size(), 0.0);
  }
  auto qi = [&](int64_t b, int64_t t, int64_t h) { return ((b * T + t) * Hq + h) * D; };
  auto ki = [&](int64_t b, int64_t t, int64_t g) { return ((b * T + t) * Hkv + g) * D; };
  std::vector<double> prob(T), dprob(T);
  for (int64_t b = 0; b < sh.batch; ++b) {
    const int64_t len = p.len(b);
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t g = h / group;
      const int cls = h >= Hq / 2 ? 1 : 0;
      for (int64_t t = 0; t < len; ++t) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t s = 0; s < len; ++s) {
          prob[s] = -std::numeric_limits<double>::infinity();
          if (!visible(p.mask, len, cls, docs_of(p, b), t, s)) continue;
          double dot = 0.0;
          for (int64_t d = 0; d < D; ++d) dot += p.q[qi(b, t, h) + d] * p.k[ki(b, s, g) + d];
          prob[s] = dot * scale;
          mx = std::max(mx, prob[s]);
        }
        double sum = 0.0;
        for (int64_t s = 0; s < len; ++s) sum += std::exp(prob[s] - mx);
        for (int64_t s = 0; s < len; ++s) prob[s] = std::exp(prob[s] - mx) / sum;
        out.lse[(b * Hq + h) * T + t] = mx + std::log(sum);
        for (int64_t s = 0; s < len; ++s)
          for (int64_t d = 0; d < D; ++d) out.o[qi(b, t, h) + d] += prob[s] * p.v[ki(b, s, g) + d];
        if (!with_backward) continue;
        // dP[s] = dout·v[s]; dS = P ∘ (dP − Σ_s P·dP)
        double delta = 0.0;
        for (int64_t s = 0; s < len; ++s) {
          dprob[s] = 0.0;
          if (prob[s] == 0.0) continue;
          for (int64_t d = 0; d < D; ++d) dprob[s] += p.dout[qi(b, t, h) + d] * p.v[ki(b, s, g) + d];
          delta += prob[s] * dprob[s];
        }
        for (int64_t s = 0; s < len; ++s) {
          if (prob[s] == 0.0) continue;
          const double ds = prob[s] * (dprob[s] - delta) * scale;
          for (int64_t d = 0; d < D; ++d) {
            out.dq[qi(b, t, h) + d] += ds * p.k[ki(b, s, g) + d];
            out.dk[ki(b, s, g) + d] += ds * p.q[qi(b, t, h) + d];
            out.dv[ki(b, s, g) + d] += prob[s] * p.dout[qi(b, t, h) + d];
          }
        }
      }
    }
  }
  return out;
}

double reference_loss(const Problem& p) {
  const Outputs out = reference_attention(p, false);
  double loss = 0.0;
  for (size_t i = 0; i < out.o.size(); ++i) loss += out.o[i] * p.dout[i];
  return loss;
}

namespace {

// A contiguous operand in the kernel's dtype.
struct Buffer {
  std::vector<float> f32;
  std::vector<uint16_t> half;  // bf16 or f16 bits
  DType dtype;

  Buffer(const std::vector<double>& x, DType dt) : dtype(dt) {
    if (dt == DType::F32) {
      f32.assign(x.begin(), x.end());
    } else {
      for (double e : x)
        half.push_back(dt == DType::F16 ? f32_to_f16(static_cast<float>(e)) : f32_to_bf16(static_cast<float>(e)));
    }
  }
  HeadsView view(int64_t T, int64_t H, int64_t D) {
    void* data = dtype == DType::F32 ? static_cast<void*>(f32.data()) : static_cast<void*>(half.data());
    return contiguous_heads(data, dtype, T, H, D);
  }
};

std::vector<double> widen(const std::vector<float>& x) { return {x.begin(), x.end()}; }

}  // namespace

Outputs run_kernel(const Problem& p, DType dtype, const AttentionTuning& tuning, bool with_backward) {
  const AttentionShape& sh = p.shape;
  const int64_t T = sh.max_len, Hq = sh.q_heads, Hkv = sh.kv_heads, D = sh.head_dim;
  Buffer q(p.q, dtype), k(p.k, dtype), v(p.v, dtype), dout(p.dout, dtype);
  const AttentionQKV in{q.view(T, Hq, D), k.view(T, Hkv, D), v.view(T, Hkv, D)};
  // NaN-filled outputs: every element must be written.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> o(p.q.size(), nan), lse(sh.batch * Hq * T, nan);
  Arena arena;
  const HeadsView o_view = contiguous_heads(o.data(), DType::F32, T, Hq, D);
  attention_forward(sh, p.mask, in, o_view, lse.data(), arena, tuning);
  Outputs out{widen(o), widen(lse), {}, {}, {}};
  if (!with_backward) return out;
  std::vector<float> dq(p.q.size(), nan), dk(p.k.size(), nan), dv(p.v.size(), nan);
  const AttentionQKV grads{contiguous_heads(dq.data(), DType::F32, T, Hq, D),
                           contiguous_heads(dk.data(), DType::F32, T, Hkv, D),
                           contiguous_heads(dv.data(), DType::F32, T, Hkv, D)};
  attention_backward(sh, p.mask, in, o_view, lse.data(), dout.view(T, Hq, D), grads, arena, tuning);
  out.dq = widen(dq);
  out.dk = widen(dk);
  out.dv = widen(dv);
  return out;
}

double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
    if (std::isnan(a[i])) return std::numeric_limits<double>::infinity();
  }
  return scale > 0.0 ? diff / scale : diff;
}

}  // namespace ll::attn_test
