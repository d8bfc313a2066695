// Attention kernel benchmark: forward and forward+backward at N ∈ {4096, 16384, 65536}, D = 128,
// H = 8, for full causal attention and S²-Attn (shift layout, ratio 1/4), next to oneDNN's GEMM
// ceiling measured in the same run (bf16 where this CPU has a bf16 GEMM, f32 always).
//
// GFLOP/s count the causal work actually needed: per visible (query, key) pair 4·D flops forward
// (q·k and p·v) and 10·D backward (the usual 2.5×: dp, dv, ds·k, dsᵀ·q plus recomputing q·k), so S²
// is not credited for the pairs it skips. Prints figures; never passes or fails.
//
//   bench_attention [--sizes 4096,16384,65536] [--threads N] [--isa auto|portable|avx2|avx512]
//                   [--skip-full-backward-above N]   (a 64k full-causal backward takes minutes)
#include <dnnl.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/half.h"
#include "core/simd.h"
#include "core/threads.h"
#include "kernels/attention/attention.h"

namespace {

using namespace ll;

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best time over runs that together take about `budget` seconds (at least one, at most `max_runs`).
double best_seconds(const std::function<void()>& f, double budget = 1.0, int max_runs = 5) {
  double best = seconds_of(f), total = best;
  for (int i = 1; i < max_runs && total < budget; ++i) {
    const double s = seconds_of(f);
    best = std::min(best, s);
    total += s;
  }
  return best;
}

// oneDNN matmul C[n×n] = A·B at the given input type, f32 output; GFLOP/s, or a negative number
// with the reason in `why` when this CPU has no such primitive.
double onednn_gemm_gflops(dnnl::memory::data_type type, int64_t n, std::string* why) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  try {
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(eng);
    const dnnl::memory::desc a_md({n, n}, type, tag::ab), b_md({n, n}, type, tag::ab), c_md({n, n}, dt::f32, tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), eng);
    dnnl::memory a(a_md, eng), b(b_md, eng), c(c_md, eng);
    const size_t bytes = a_md.get_size();
    std::memset(a.get_data_handle(), 0x3c, bytes);  // small finite values in f32 and bf16
    std::memset(b.get_data_handle(), 0x3c, bytes);
    const dnnl::matmul prim(pd);
    auto run = [&] {
      prim.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
      stream.wait();
    };
    run();
    return 2.0 * n * n * n / best_seconds(run, 2.0, 10) / 1e9;
  } catch (const dnnl::error& e) {
    *why = e.what();
    return -1.0;
  }
}

// Visible (query, key) pairs of one head: Σ over causal segments of L(L+1)/2.
double visible_pairs(int64_t n, int64_t group, bool s2, bool second_half) {
  auto tri = [](double l) { return l * (l + 1) / 2; };
  if (!s2 || n <= group) return tri(n);
  double pairs = 0;
  int64_t begin = 0;
  if (second_half && group / 2 > 0) {
    pairs += tri(group / 2);
    begin = group / 2;
  }
  for (; begin < n; begin += group) pairs += tri(std::min(group, n - begin));
  return pairs;
}

struct Problem {
  int64_t n, heads, dim;
  std::vector<uint16_t> q, k, v, dout;  // bf16, [1, N, H, D]
  std::vector<float> o, lse, dq, dk, dv;

  Problem(int64_t n_, int64_t h, int64_t d) : n(n_), heads(h), dim(d) {
    const size_t size = static_cast<size_t>(n * h * d);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto* x : {&q, &k, &v, &dout}) {
      x->resize(size);
      for (uint16_t& e : *x) e = f32_to_bf16(u(rng));
    }
    o.resize(size);
    dq.resize(size);
    dk.resize(size);
    dv.resize(size);
    lse.resize(static_cast<size_t>(h * n));
  }
  HeadsView bf16(std::vector<uint16_t>& x) { return contiguous_heads(x.data(), DType::BF16, n, heads, dim); }
  HeadsView f32(std::vector<float>& x) { return contiguous_heads(x.data(), DType::F32, n, heads, dim); }
};

std::vector<int64_t> parse_sizes(const std::string& s) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t comma = s.find(',', pos);
    out.push_back(std::stoll(s.substr(pos, comma - pos)));
    pos = comma == std::string::npos ? s.size() : comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes = {4096, 16384, 65536};
  int threads = 0;
  int64_t skip_full_backward_above = 1 << 30;
  AttentionTuning tuning;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--sizes") {
      sizes = parse_sizes(value);
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--skip-full-backward-above") {
      skip_full_backward_above = std::stoll(value);
    } else if (flag == "--isa") {
      for (AttentionIsa isa : {AttentionIsa::Auto, AttentionIsa::Portable, AttentionIsa::Avx2, AttentionIsa::Avx512})
        if (value == attention_isa_name(isa)) tuning.isa = isa;
    } else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (threads > 0) set_num_threads(threads);
  if (!attention_isa_available(tuning.isa)) {
    std::fprintf(stderr, "instruction set %s not available here\n", attention_isa_name(tuning.isa));
    return 2;
  }
  const AttentionIsa isa = tuning.isa == AttentionIsa::Auto ? attention_best_isa() : tuning.isa;
  const int64_t H = 8, D = 128;
  std::printf("attention benchmark: %d threads, kernel path %s, CPU %s%s%s\n", num_threads(), attention_isa_name(isa),
              cpu_has_avx2_fma() ? "AVX2+FMA" : "baseline", cpu_has_avx512() ? " AVX-512" : "",
              cpu_has_avx512_bf16() ? " AVX512-BF16" : "");

  std::string why;
  const double f32_ceiling = onednn_gemm_gflops(dnnl::memory::data_type::f32, 2048, &why);
  const double bf16_ceiling = onednn_gemm_gflops(dnnl::memory::data_type::bf16, 2048, &why);
  std::printf("oneDNN GEMM 2048³: f32 %.1f GFLOP/s; bf16 ", f32_ceiling);
  if (bf16_ceiling > 0) {
    std::printf("%.1f GFLOP/s\n", bf16_ceiling);
  } else {
    std::printf("unavailable on this CPU (%s)\n", why.c_str());
  }
  const double ceiling = std::max(f32_ceiling, bf16_ceiling);
  std::printf("ceiling = best available = %.1f GFLOP/s\n\n", ceiling);
  std::printf("%-6s %-5s %6s | %9s %8s %6s | %9s %8s %6s | %s\n", "N", "mask", "G", "fwd s", "GFLOP/s", "%ceil",
              "fwd+bwd s", "GFLOP/s", "%ceil", "scratch");

  for (int64_t n : sizes) {
    Problem p(n, H, D);
    double full_fwd = 0, full_both = 0;
    for (bool s2 : {false, true}) {
      AttentionShape shape;
      shape.max_len = n;
      shape.q_heads = H;
      shape.kv_heads = H;
      shape.head_dim = D;
      AttentionMask mask;
      mask.mode = s2 ? AttentionMode::S2Shift : AttentionMode::Causal;
      mask.s2_ratio = 0.25;
      const int64_t group = s2 ? n / 4 : n;
      double pairs = 0;
      for (int64_t h = 0; h < H; ++h) pairs += visible_pairs(n, group, s2, h >= H / 2);
      const double fwd_flops = 4.0 * D * pairs, bwd_flops = 10.0 * D * pairs;

      Arena arena;
      const AttentionQKV in{p.bf16(p.q), p.bf16(p.k), p.bf16(p.v)};
      const AttentionQKV grads{p.f32(p.dq), p.f32(p.dk), p.f32(p.dv)};
      auto forward = [&] { attention_forward(shape, mask, in, p.f32(p.o), p.lse.data(), arena, tuning); };
      auto backward = [&] {
        attention_backward(shape, mask, in, p.f32(p.o), p.lse.data(), p.bf16(p.dout), grads, arena, tuning);
      };
      const double fwd = best_seconds(forward, 3.0, 3);
      const bool run_backward = s2 || n <= skip_full_backward_above;
      const double both = run_backward ? fwd + best_seconds(backward, 3.0, 3) : 0.0;
      std::printf("%-6lld %-5s %6lld | %9.3f %8.1f %5.0f%% |", static_cast<long long>(n), s2 ? "S2" : "full",
                  static_cast<long long>(group), fwd, fwd_flops / fwd / 1e9, 100.0 * fwd_flops / fwd / 1e9 / ceiling);
      if (run_backward) {
        const double gf = (fwd_flops + bwd_flops) / both / 1e9;
        std::printf(" %9.3f %8.1f %5.0f%% |", both, gf, 100.0 * gf / ceiling);
      } else {
        std::printf(" %9s %8s %6s |", "skipped", "", "");
      }
      std::printf(" %.2f MiB\n", arena.high_water() / 1048576.0);
      if (!s2) {
        full_fwd = fwd;
        full_both = both;
      } else {
        std::printf("%-6s S2/full time: forward %.3f", "", fwd / full_fwd);
        if (full_both > 0) std::printf(", forward+backward %.3f", both / full_both);
        std::printf("   (S² does %.3f of full's causal work)\n", pairs / (H * visible_pairs(n, n, false, false)));
      }
    }
  }
  return 0;
}
