// Norms, position, activation (backend.h's section of that name): rmsnorm, rope, swiglu forward and
// backward, and round_to_bf16. Bounds are per element, from the op's f32 operation count (stated at each).
#include <bit>

#include "backend/harness.h"

namespace ll::backend_test {
namespace {

class BackendNormsRopeSwiglu : public BackendTest {};
INSTANTIATE_BACKEND_SUITE(BackendNormsRopeSwiglu);

// ---- RMSNorm: y = x·rstd·w, rstd = (mean_c x² + eps)^(−1/2) ----

struct RmsReference {
  std::vector<double> rstd, y;
};

RmsReference rmsnorm_reference(const std::vector<double>& x, const std::vector<double>& w, int64_t R, int64_t C,
                               double eps) {
  RmsReference ref{std::vector<double>(R), std::vector<double>(R * C)};
  for (int64_t r = 0; r < R; ++r) {
    double sq = 0;
    for (int64_t c = 0; c < C; ++c) sq += x[r * C + c] * x[r * C + c];
    ref.rstd[r] = 1.0 / std::sqrt(sq / static_cast<double>(C) + eps);
    for (int64_t c = 0; c < C; ++c) ref.y[r * C + c] = x[r * C + c] * ref.rstd[r] * w[c];
  }
  return ref;
}

TEST_P(BackendNormsRopeSwiglu, RmsNorm) {
  Backend& b = backend();
  std::mt19937 rng(30);
  const float eps = 1e-5f;
  // The second shape (R·C > 32768) takes the kernel's threaded path; its gradients are checked by
  // finite differences at 150 sampled elements.
  for (auto [R, C] : {std::pair<int64_t, int64_t>{9, 37}, {301, 129}}) {
    for (bool frozen_w : {false, true}) {
      SCOPED_TRACE("R=" + std::to_string(R) + " C=" + std::to_string(C) + (frozen_w ? " frozen w" : ""));
      const std::vector<float> x = nonzero_floats(R * C, rng, 0.1f, 2.0f), w = nonzero_floats(C, rng, 0.5f, 1.5f);
      const std::vector<float> dy = nonzero_floats(R * C, rng), dx0 = nonzero_floats(R * C, rng), dw0 = nonzero_floats(C, rng);
      const RmsReference ref = rmsnorm_reference(widen(x), widen(w), R, C, eps);

      // Forward. Σx² over C terms: γ_{C+2} with the mean and + eps; the square root halves it; 1/√ adds u,
      // the two products 2u: rstd within (γ_{C+2}/2 + 2u), y within (γ_{C+2}/2 + 4u), relative.
      DeviceArray<float> dxv(b, x), dwv(b, w), dyv(b, std::vector<float>(R * C, kNaN)), drstd(b, std::vector<float>(R, kNaN));
      b.rmsnorm_forward(dyv.data(), drstd.data(), dxv.data(), dwv.data(), R, C, eps);
      const double rel = gamma_f32(C + 2) / 2;
      expect_within(drstd.read(), ref.rstd, relative_bound(ref.rstd, rel + 2 * kU), "rstd");
      expect_within(dyv.read(), ref.y, relative_bound(ref.y, rel + 4 * kU), "y");
      // In place (y = x), without rstd.
      DeviceArray<float> inplace(b, x);
      b.rmsnorm_forward(inplace.data(), nullptr, inplace.data(), dwv.data(), R, C, eps);
      expect_within(inplace.read(), ref.y, relative_bound(ref.y, rel + 4 * kU), "y in place");

      // Backward, from rstd as the forward saves it (f32: one more u, through rstd³ three).
      //   dx += rstd·(dy·w − x·rstd²·mean_c(dy·w·x)),  dw += Σ_r dy·x·rstd
      // dx within γ_{C+10}·(|dx₀| + rstd·(|dy·w| + |x|·rstd²·mean|dy·w·x|)); dw within γ_{R+5}·(|dw₀| + Σ|dy·x·rstd|).
      std::vector<float> rstd_f(ref.rstd.begin(), ref.rstd.end());
      DeviceArray<float> rs(b, rstd_f), ddy(b, dy), ddx(b, dx0), ddw(b, dw0);
      b.rmsnorm_backward(ddx.data(), frozen_w ? nullptr : ddw.data(), ddy.data(), dxv.data(), dwv.data(), rs.data(), R, C);
      std::vector<double> gx(R * C), gx_bound(R * C), gw(C, 0.0), gw_mag(C, 0.0);
      for (int64_t r = 0; r < R; ++r) {
        const double rstd = ref.rstd[r];
        double mean = 0, mean_mag = 0;
        for (int64_t c = 0; c < C; ++c) {
          const double t = static_cast<double>(dy[r * C + c]) * w[c] * x[r * C + c];
          mean += t / static_cast<double>(C);
          mean_mag += std::fabs(t) / static_cast<double>(C);
        }
        for (int64_t c = 0; c < C; ++c) {
          const int64_t i = r * C + c;
          gx[i] = rstd * (static_cast<double>(dy[i]) * w[c] - x[i] * rstd * rstd * mean);
          gx_bound[i] = gamma_f32(C + 10) * (std::fabs(dx0[i]) + rstd * (std::fabs(dy[i] * w[c]) + std::fabs(x[i]) * rstd * rstd * mean_mag));
          gw[c] += static_cast<double>(dy[i]) * x[i] * rstd;
          gw_mag[c] += std::fabs(static_cast<double>(dy[i]) * x[i] * rstd);
        }
      }
      std::vector<double> gw_bound(C);
      for (int64_t c = 0; c < C; ++c) gw_bound[c] = gamma_f32(R + 5) * (std::fabs(dw0[c]) + gw_mag[c]);
      // L = Σ dy ∘ y(x, w)
      const std::vector<double> dyd = widen(dy);
      auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv) {
        const RmsReference f = rmsnorm_reference(xv, wv, R, C, eps);
        double l = 0;
        for (size_t i = 0; i < f.y.size(); ++i) l += dyd[i] * f.y[i];
        return l;
      };
      const std::vector<size_t> which_x = R * C > 1000 ? sample_indices(R * C, 150, rng) : std::vector<size_t>{};
      const std::vector<double> fd_x = central_differences(
          widen(x), [&](const std::vector<double>& v) { return loss(v, widen(w)); }, which_x);
      expect_gradient(ddx.read(), widen(dx0), gx, fd_x, gx_bound, "dx");
      if (frozen_w) {
        expect_bits_equal(ddw.read(), dw0, "a frozen w's gradient buffer");
      } else {
        const std::vector<size_t> which_w = R * C > 1000 ? sample_indices(C, 40, rng) : std::vector<size_t>{};
        const std::vector<double> fd_w = central_differences(
            widen(w), [&](const std::vector<double>& v) { return loss(widen(x), v); }, which_w);
        expect_gradient(ddw.read(), widen(dw0), gw, fd_w, gw_bound, "dw");
      }
    }
  }
}

// ---- RoPE on a RopeTable in the backend's memory ----

// out1 = x1·cos − x2·sin, out2 = x2·cos + x1·sin per pair (i, i + D/2), at the table's angles for pos[t];
// the backward is the transposed rotation. Both from the table's f32 values, so the op's error is
// two products and a sum: γ_3·(|x1·cos| + |x2·sin|).
struct Rotation {
  std::vector<double> out, bound;
};

Rotation rotate(const std::vector<double>& x, const std::vector<int32_t>& pos, int64_t heads, int64_t D, int64_t stride,
                const std::vector<float>& cos, const std::vector<float>& sin, bool transposed) {
  Rotation r{x, std::vector<double>(x.size(), 0.0)};
  const int64_t half = D / 2;
  for (size_t t = 0; t < pos.size(); ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = static_cast<int64_t>(t) * stride + h * D + i, bi = a + half;
        const double c = cos[pos[t] * half + i], s = transposed ? -sin[pos[t] * half + i] : sin[pos[t] * half + i];
        r.out[a] = x[a] * c - x[bi] * s;
        r.out[bi] = x[bi] * c + x[a] * s;
        r.bound[a] = gamma_f32(3) * (std::fabs(x[a] * c) + std::fabs(x[bi] * s));
        r.bound[bi] = gamma_f32(3) * (std::fabs(x[bi] * c) + std::fabs(x[a] * s));
      }
  return r;
}

TEST_P(BackendNormsRopeSwiglu, Rope) {
  Backend& b = backend();
  std::mt19937 rng(31);
  const int64_t D = 10, heads = 3, stride = heads * D + 7, max_positions = 64;  // D/2 = 5: odd vector tails
  const double theta = 10000, factor = 2.5;
  const RopeTable table(D, theta, factor, max_positions, b);
  const std::vector<int32_t> pos = {5, 0, 12, 3, 3, 63, 1};  // not in order, repeated, the last position
  const int64_t T = static_cast<int64_t>(pos.size());

  // The table in the backend's memory holds cos/sin of (p / factor)·theta^(−2i/D): its f32 steps (inv_freq,
  // p / factor, the product) put the angle within 8u of its value, so cos/sin within 8u·angle + u.
  std::vector<float> cos(max_positions * D / 2), sin(cos.size());
  b.download(cos.data(), table.cos(0), cos.size() * sizeof(float));
  b.download(sin.data(), table.sin(0), sin.size() * sizeof(float));
  std::vector<double> cos_want(cos.size()), sin_want(cos.size()), trig_bound(cos.size());
  for (int64_t p = 0; p < max_positions; ++p)
    for (int64_t i = 0; i < D / 2; ++i) {
      const double angle = p / factor * std::pow(theta, -2.0 * static_cast<double>(i) / D);
      cos_want[p * D / 2 + i] = std::cos(angle);
      sin_want[p * D / 2 + i] = std::sin(angle);
      trig_bound[p * D / 2 + i] = 8 * kU * angle + kU;
    }
  expect_within(cos, cos_want, trig_bound, "the table's cos");
  expect_within(sin, sin_want, trig_bound, "the table's sin");

  std::vector<float> x = nonzero_floats(T * stride, rng);
  for (int64_t t = 0; t < T; ++t) std::fill(x.begin() + t * stride + heads * D, x.begin() + (t + 1) * stride, kSentinel);
  DeviceArray<int32_t> dpos(b, pos);
  DeviceArray<float> dx(b, x);
  b.rope_forward(dx.data(), dpos.data(), T, heads, D, stride, table);
  const Rotation fwd = rotate(widen(x), pos, heads, D, stride, cos, sin, false);
  expect_within(dx.read(), fwd.out, fwd.bound, "rope_forward (padding untouched)");

    // Backward of out = R(p)·x: dx = R(p)ᵀ·dy; L = Σ dy ∘ R(p)·x, differentiated at the valid elements.
  const std::vector<float> dy = x;  // random, sentinel padding
  DeviceArray<float> ddy(b, dy);
  b.rope_backward(ddy.data(), dpos.data(), T, heads, D, stride, table);
  const Rotation bwd = rotate(widen(dy), pos, heads, D, stride, cos, sin, true);
  std::vector<size_t> valid;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t e = 0; e < heads * D; ++e) valid.push_back(t * stride + e);
  const std::vector<double> fd = central_differences(
      widen(nonzero_floats(T * stride, rng)),
      [&](const std::vector<double>& xv) {
        const Rotation r = rotate(xv, pos, heads, D, stride, cos, sin, false);
        double l = 0;
        for (size_t i : valid) l += static_cast<double>(dy[i]) * r.out[i];
        return l;
      },
      valid);
  // bwd.out keeps the padding's sentinel with bound 0; fd covers the valid elements only.
  expect_gradient(ddy.read(), {}, bwd.out, fd, bwd.bound, "rope_backward (padding untouched)");
}

// ---- SwiGLU: h = silu(g)·u, g = gate_up[:, :F], u = gate_up[:, F:] ----

// h = g·s·u, s = sigmoid(g) = 1/(1 + e^−g) with e^x within 2 ulp (4u): s within 6u, h within γ_8·|h|.
// dgate = dh·u·s·(1 + g·(1 − s)): 1 − s loses s's 6u absolutely, so within |dh·u·s|·(8u·|g| + γ_10·|1 + g·(1 − s)|);
// dup = dh·g·s within γ_9·|dup|.
TEST_P(BackendNormsRopeSwiglu, Swiglu) {
  Backend& b = backend();
  std::mt19937 rng(32);
  const int64_t T = 7, F = 37;
  const std::vector<float> gate_up = nonzero_floats(T * 2 * F, rng, 0.05f, 6.0f), dh = nonzero_floats(T * F, rng);
  auto sigmoid = [](double g) { return 1.0 / (1.0 + std::exp(-g)); };
  auto forward = [&](const std::vector<double>& gu) {
    std::vector<double> h(T * F);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t f = 0; f < F; ++f) {
        const double g = gu[t * 2 * F + f], u = gu[t * 2 * F + F + f];
        h[t * F + f] = g * sigmoid(g) * u;
      }
    return h;
  };
  const std::vector<double> h = forward(widen(gate_up));
  DeviceArray<float> dgu(b, gate_up), dhv(b, std::vector<float>(T * F, kNaN));
  b.swiglu_forward(dhv.data(), dgu.data(), T, F);
  expect_within(dhv.read(), h, relative_bound(h, gamma_f32(8)), "h");

  std::vector<double> ref(T * 2 * F), bound(T * 2 * F);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t f = 0; f < F; ++f) {
      const double g = gate_up[t * 2 * F + f], u = gate_up[t * 2 * F + F + f], d = dh[t * F + f], s = sigmoid(g);
      ref[t * 2 * F + f] = d * u * s * (1 + g * (1 - s));
      bound[t * 2 * F + f] = std::fabs(d * u * s) * (8 * kU * std::fabs(g) + gamma_f32(10) * std::fabs(1 + g * (1 - s)));
      ref[t * 2 * F + F + f] = d * g * s;
      bound[t * 2 * F + F + f] = gamma_f32(9) * std::fabs(d * g * s);
    }
  const std::vector<double> fd = central_differences(widen(gate_up), [&](const std::vector<double>& gu) {
    const std::vector<double> hv = forward(gu);
    double l = 0;
    for (int64_t i = 0; i < T * F; ++i) l += static_cast<double>(dh[i]) * hv[i];
    return l;
  });
  DeviceArray<float> ddh(b, dh), dgrad(b, std::vector<float>(T * 2 * F, kNaN));
  b.swiglu_backward(dgrad.data(), ddh.data(), dgu.data(), T, F);
  expect_gradient(dgrad.read(), {}, ref, fd, bound, "dgate_up");
  b.swiglu_backward(dgu.data(), ddh.data(), dgu.data(), T, F);  // in place over gate_up
  expect_gradient(dgu.read(), {}, ref, fd, bound, "dgate_up in place");
}

// ---- round_to_bf16 ----

// Exact: every result is the bf16 nearest to its input, ties to even (bf16_nearest_even, found by
// distances in double), NaN stays NaN, ±Inf and −0 stay, overflow past the largest bf16 goes to ±Inf.
TEST_P(BackendNormsRopeSwiglu, RoundToBf16) {
  Backend& b = backend();
  std::mt19937 rng(33);
  const int64_t n = 70001;  // more than one of the CPU backend's 65536-element pieces
  std::vector<float> x(n);
  std::uniform_int_distribution<uint32_t> bits;
  for (float& e : x) {
    e = std::bit_cast<float>(bits(rng));
    if (std::isnan(e)) e = 1.5f;
  }
  const uint32_t crafted[] = {
      0x3f808000u,  // 1 + 2^-8: a tie between 0x3f80 (even) and 0x3f81 → 0x3f80
      0x3f818000u,  // a tie between 0x3f81 (odd) and 0x3f82 → 0x3f82
      0xbf818000u,  // the same, negative
      0x3f808001u,  // just above a tie → up
      0x3f807fffu,  // just below → down
      0x7f7f8000u,  // a tie between the largest finite bf16 (odd) and infinity → +Inf
      0x7f7f7fffu,  // just below it → the largest finite
      0x7f7fffffu,  // FLT_MAX → +Inf
      0xff7fffffu,  // −FLT_MAX → −Inf
      0x00008000u,  // the smallest tie among subnormals → +0
      0x00018000u,  // subnormal tie with an odd kept bit → up
      0x80000001u,  // the smallest negative subnormal → −0
      0x7f800000u, 0xff800000u,  // ±Inf
      0x80000000u,                // −0
      0x7f800001u,  // a signalling NaN whose payload is only in the low half: must stay NaN
      0x7fc00000u, 0xffc12345u,   // quiet NaNs
  };
  for (size_t i = 0; i < std::size(crafted); ++i) x[i * 4099] = std::bit_cast<float>(crafted[i]);
  std::vector<float> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = static_cast<float>(bf16_value(bf16_nearest_even(x[i])));
  auto check = [&](const std::vector<float>& got, const std::string& what) {
    std::vector<float> g = got, w = want;
    for (int64_t i = 0; i < n; ++i)
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(got[i])) << what << ": NaN at " << i << " became " << got[i];
        g[i] = w[i] = 0;
      }
    expect_bits_equal(g, w, what);
  };
  DeviceArray<float> src(b, x), dst(b, std::vector<float>(n, kNaN));
  b.round_to_bf16(dst.data(), src.data(), n);
  check(dst.read(), "round_to_bf16");
  expect_bits_equal(src.read(), x, "round_to_bf16's source");
  b.round_to_bf16(src.data(), src.data(), n);
  check(src.read(), "round_to_bf16 in place");
}

}  // namespace
}  // namespace ll::backend_test
