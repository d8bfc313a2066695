// Generation speed: prompt processing (prefill) and per-token decoding, for the real stories260K
// model and a freshly initialised LLaMA of the reference shape (dim 512, 8 layers, 8 heads,
// FFN 1376, vocab 32000). Prints tokens/s, prefill GFLOP/s next to the f32 GEMM rate of the
// model's own shapes measured in the same run, and decode's weight-streaming GB/s next to the
// memory read bandwidth measured in the same run (every decoded token reads every weight once).
//
// usage: bench_generate [--prompt N] [--new N] [--threads N] [--omp-wait-policy passive|active]
// (libgomp reads OMP_WAIT_POLICY at start-up: --omp-wait-policy re-executes the benchmark with it set)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/cpu_isa.h"
#include "core/threads.h"
#include "eval/generate.h"
#include "kernels/matmul.h"
#include "model/init_weights.h"
#include "model/llama_model.h"

namespace {

using namespace ll;

// f32 GEMM rate of a [M, K]·[K, N] product through longlora's matmul, best of 5.
double gemm_gflops(int64_t M, int64_t N, int64_t K) {
  std::vector<float> x(M * K, 0.5f), w(N * K, 0.25f), y(M * N);
  const Tensor gw = Tensor::view(w.data(), DType::F32, {N, K});
  Arena scratch;
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    Stopwatch t;
    linear_forward(y.data(), N, x.data(), K, M, gw, Precision::F32, false, scratch);
    best = std::min(best, t.seconds());
  }
  return 2.0 * M * N * K / best / 1e9;
}

// Σ x[i] over a buffer, 16 independent partial sums so that it vectorises: a streaming read.
LL_ISA_INLINE float sum_span_body(const float* x, int64_t n) {
  float lane[16] = {};
  for (int64_t i = 0; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) lane[l] += x[i + l];
  float s = 0;
  for (float v : lane) s += v;
  return s;
}
LL_ISA_DISPATCH(float, sum_span, (const float* x, int64_t n), (x, n))

// Memory read bandwidth (GB/s, best of 5) over a 256 MiB buffer: far larger than any cache.
double read_bandwidth() {
  const int64_t n = int64_t{64} << 20, pieces = 64, piece = n / pieces;
  std::vector<float> buf(static_cast<size_t>(n), 1.0f);
  double best = 1e30, sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    Stopwatch t;
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (int64_t p = 0; p < pieces; ++p) sum += sum_span(buf.data() + p * piece, piece);
    best = std::min(best, t.seconds());
    sink += sum;
  }
  return sink > 0 ? 4.0 * n / best / 1e9 : 0;
}

// FLOPs of one forward over `n` tokens after `past` cached ones: 2 per weight per token (lm_head
// for the last token only) plus causal attention 4·D·(keys seen) per head.
double forward_flops(const LlamaConfig& c, int64_t past, int64_t n, bool all_logits) {
  const double C = c.hidden_size, F = c.intermediate_size, L = c.num_layers;
  const double qd = static_cast<double>(c.q_dim()), kvd = static_cast<double>(c.kv_dim());
  const double per_token = L * (2 * C * (qd + 2 * kvd) + 2 * qd * C + 6 * C * F);
  double attn = 0;
  for (int64_t t = 0; t < n; ++t) attn += 4.0 * c.head_dim * c.num_heads * L * (past + t + 1);
  return per_token * n + attn + 2.0 * C * c.vocab_size * (all_logits ? n : 1);
}

void run(const char* label, const std::string& path, int64_t prompt_len, int64_t new_tokens, double bandwidth) {
  auto model = LlamaModel::open(path, ModelOptions{Precision::F32});
  const LlamaConfig& c = model->config();
  std::vector<int32_t> prompt(static_cast<size_t>(prompt_len));
  for (int64_t i = 0; i < prompt_len; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>(1 + (i * 7919) % (c.vocab_size - 1));
  GenerateOptions opts;
  opts.max_new_tokens = new_tokens;
  opts.sampling.greedy = true;
  opts.stop_at_eos = false;
  generate(*model, prompt, opts, nullptr);  // warm-up (JIT, page-in)
  GenerateStats s;
  generate(*model, prompt, opts, nullptr, &s);
  const double prefill_gflops = forward_flops(c, 0, prompt_len, false) / s.prompt_seconds / 1e9;
  const double weight_bytes = 4.0 * (parameter_count(c) - (c.tie_word_embeddings ? 0 : c.vocab_size * c.hidden_size));
  const double decode_tps = s.new_tokens / s.generate_seconds;
  const double ceiling = gemm_gflops(prompt_len, c.intermediate_size, c.hidden_size);
  std::printf("%-26s prefill %5lld tok: %9.1f tok/s %7.1f GFLOP/s (%3.0f%% of GEMM %.1f) | decode %4lld tok: %7.1f tok/s "
              "%6.2f GB/s weights (%3.0f%% of read bandwidth)\n",
              label, static_cast<long long>(prompt_len), prompt_len / s.prompt_seconds, prefill_gflops,
              100 * prefill_gflops / ceiling, ceiling, static_cast<long long>(s.new_tokens), decode_tps,
              decode_tps * weight_bytes / 1e9, 100 * decode_tps * weight_bytes / 1e9 / bandwidth);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t prompt = 512, new_tokens = 128;
  int threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--omp-wait-policy")) {
      const char* now = std::getenv("OMP_WAIT_POLICY");
      if (!now || std::strcmp(now, argv[i + 1]) != 0) {
        ::setenv("OMP_WAIT_POLICY", argv[i + 1], 1);
        ::execv("/proc/self/exe", argv);
      }
    }
    if (!std::strcmp(argv[i], "--prompt")) prompt = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--new")) new_tokens = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  }
  set_num_threads(threads);
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const double bandwidth = read_bandwidth();
  std::printf("bench_generate: f32 compute, %d threads (OpenMP wait policy %s), prompt %lld, new %lld (greedy); "
              "memory read bandwidth %.1f GB/s\n", num_threads(), policy ? policy : "default (spinning)",
              static_cast<long long>(prompt), static_cast<long long>(new_tokens), bandwidth);
  const std::string stories = std::string(LL_SOURCE_DIR) + "/../shared/data/stories260K.gguf";
  if (std::filesystem::exists(stories)) run("stories260K (real)", stories, prompt, new_tokens, bandwidth);
  else std::printf("stories260K: ../shared/data absent, skipped\n");

  LlamaConfig ref;
  ref.hidden_size = 512;
  ref.intermediate_size = 1376;
  ref.num_layers = 8;
  ref.num_heads = 8;
  ref.num_kv_heads = 8;
  ref.head_dim = 64;
  ref.vocab_size = 32000;
  ref.max_position_embeddings = 4096;
  const std::string dir = std::filesystem::temp_directory_path().string() + "/longlora-bench-ref512";
  write_initialized_llama(dir, ref, 1, DType::F32);
  run("ref dim512 L8 V32000", dir, prompt, new_tokens, bandwidth);
  std::filesystem::remove_all(dir);
  return 0;
}
