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
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/half.h"
#include "core/cpu_isa.h"
#include "core/threads.h"
#include "kernels/attention/attention.h"

namespace {

using namespace ll;

// Wall time, and the CPU time of the whole process divided by the thread count: on a machine shared
// with other work the second says what the run would take with the cores to itself.
struct Timing {
  double wall = 0, cpu = 0;
};

double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

Timing time_of(const std::function<void()>& f) {
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {wall, (process_cpu_seconds() - cpu0) / num_threads()};
}

// Best times over runs that together take about `budget` seconds (at least one, at most `max_runs`).
Timing best_time(const std::function<void()>& f, double budget = 1.0, int max_runs = 5) {
  Timing best = time_of(f);
  double total = best.wall;
  for (int i = 1; i < max_runs && total < budget; ++i) {
    const Timing t = time_of(f);
    best.wall = std::min(best.wall, t.wall);
    best.cpu = std::min(best.cpu, t.cpu);
    total += t.wall;
  }
  return best;
}

// GFLOP/s on the wall clock and on the CPU-time basis.
struct Rate {
  double wall = 0, cpu = 0;
};
Rate rate_of(double flops, const Timing& t) { return {flops / t.wall / 1e9, flops / t.cpu / 1e9}; }

// oneDNN matmul C[n×n] = A·B at the given input type, f32 output; GFLOP/s, or negative numbers
// with the reason in `why` when this CPU has no such primitive.
Rate onednn_gemm_gflops(dnnl::memory::data_type type, int64_t n, std::string* why) {
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
    return rate_of(2.0 * n * n * n, best_time(run, 2.0, 10));
  } catch (const dnnl::error& e) {
    *why = e.what();
    return {-1.0, -1.0};
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
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a line at a time: long runs show progress
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
      for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512})
        if (value == cpu_isa_name(isa)) tuning.isa = isa;
    } else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (threads > 0) set_num_threads(threads);
  const CpuIsa isa = tuning.isa.value_or(cpu_isa());
  if (!cpu_isa_available(isa)) {
    std::fprintf(stderr, "instruction set %s not available here\n", cpu_isa_name(isa));
    return 2;
  }
  const int64_t H = 8, D = 128;
  std::printf("attention benchmark: %d threads, kernel path %s, CPU %s%s%s\n", num_threads(), cpu_isa_name(isa),
              cpu_has_avx2_fma() ? "AVX2+FMA" : "baseline", cpu_has_avx512() ? " AVX-512" : "",
              cpu_has_avx512_bf16() ? " AVX512-BF16" : "");

  std::string why;
  const Rate f32_ceiling = onednn_gemm_gflops(dnnl::memory::data_type::f32, 2048, &why);
  const Rate bf16_ceiling = onednn_gemm_gflops(dnnl::memory::data_type::bf16, 2048, &why);
  std::printf("oneDNN GEMM 2048³ (wall | cpu-time basis): f32 %.1f | %.1f GFLOP/s; bf16 ", f32_ceiling.wall,
              f32_ceiling.cpu);
  if (bf16_ceiling.wall > 0) {
    std::printf("%.1f | %.1f GFLOP/s\n", bf16_ceiling.wall, bf16_ceiling.cpu);
  } else {
    std::printf("unavailable on this CPU (%s)\n", why.c_str());
  }
  const Rate ceiling{std::max(f32_ceiling.wall, bf16_ceiling.wall), std::max(f32_ceiling.cpu, bf16_ceiling.cpu)};
  std::printf("ceiling = best available: %.1f | %.1f GFLOP/s\n\n", ceiling.wall, ceiling.cpu);
  auto report = [&](const char* what, double flops, const Timing& t) {
    const Rate r = rate_of(flops, t);
    std::printf("  %-9s %9.3f s  %7.1f GFLOP/s  %4.0f%% of ceiling   | cpu-time basis: %7.1f GFLOP/s  %4.0f%%\n", what,
                t.wall, r.wall, 100 * r.wall / ceiling.wall, r.cpu, 100 * r.cpu / ceiling.cpu);
  };

  for (int64_t n : sizes) {
    Problem p(n, H, D);
    Timing full_fwd, full_bwd;
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
      std::printf("N = %lld, %s (G = %lld), %.3g visible pairs:\n", static_cast<long long>(n),
                  s2 ? "S2-Attn shift, ratio 1/4" : "full causal", static_cast<long long>(group), pairs);
      const Timing fwd = best_time(forward, 3.0, 3);
      report("forward", fwd_flops, fwd);
      Timing bwd;
      if (s2 || n <= skip_full_backward_above) {
        bwd = best_time(backward, 3.0, 3);
        report("backward", bwd_flops, bwd);
        report("fwd+bwd", fwd_flops + bwd_flops, {fwd.wall + bwd.wall, fwd.cpu + bwd.cpu});
      } else {
        std::printf("  backward  skipped (--skip-full-backward-above)\n");
      }
      std::printf("  scratch   %.2f MiB (arena high-water mark)\n", arena.high_water() / 1048576.0);
      if (!s2) {
        full_fwd = fwd;
        full_bwd = bwd;
      } else {
        std::printf("  S2 / full time: forward %.3f (cpu %.3f)", fwd.wall / full_fwd.wall, fwd.cpu / full_fwd.cpu);
        if (full_bwd.wall > 0)
          std::printf(", backward %.3f (cpu %.3f)", bwd.wall / full_bwd.wall, bwd.cpu / full_bwd.cpu);
        std::printf("; S2 needs %.3f of full's causal work\n", pairs / (H * visible_pairs(n, n, false, false)));
      }
    }
    std::printf("\n");
  }
  return 0;
}
