#include "model/lora.h"

#include <cmath>
#include <random>

namespace ll {

namespace {
// FNV-1a: a stable hash of the module name (same value in every build), seeding its random draws.
uint64_t stable_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
}  // namespace

double LoraOptions::scale() const { return rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / rank; }

void LoraAdapter::refresh(Backend& backend, Precision p) {
  backend.prepare_weight(gemm_A, A.value, p);
  backend.prepare_weight(gemm_B, B.value, p);
}

LoraOp LoraAdapter::op() const {
  LoraOp o;
  o.A = &gemm_A;
  o.B = &gemm_B;
  o.dA = A.grad_data();
  o.dB = B.grad_data();
  o.scale = scale;
  o.dropout = dropout;
  o.dropout_stream = dropout_stream;
  return o;
}

LoraAdapter new_lora_adapter(const std::string& module, int64_t in, int64_t out, const LoraOptions& options) {
  LoraAdapter a;
  a.module = module;
  a.in = in;
  a.out = out;
  a.rank = options.rank;
  a.scale = static_cast<float>(options.scale());
  a.dropout = static_cast<float>(options.dropout);
  a.dropout_stream = stable_hash(module);
  return a;
}

std::vector<float> initial_lora_A(const std::string& module, int64_t in, int64_t rank, uint64_t seed) {
  std::mt19937_64 rng(seed ^ (stable_hash(module) * 0x9E3779B97F4A7C15ull));
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  std::uniform_real_distribution<double> u(-bound, bound);
  std::vector<float> A(static_cast<size_t>(rank * in));
  for (float& x : A) x = static_cast<float>(u(rng));
  return A;
}

}  // namespace ll
