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

void LoraAdapter::refresh(Precision p) {
  if (gemm_A.empty()) {
    gemm_A = GemmWeight(A.value.view(), p);
    gemm_B = GemmWeight(B.value.view(), p);
  } else {
    gemm_A.update(A.value.view());
    gemm_B.update(B.value.view());
  }
}

LoraAdapter new_lora_adapter(const std::string& module, int64_t in, int64_t out, const LoraOptions& options,
                             uint64_t seed, Precision precision) {
  LoraAdapter a;
  a.module = module;
  a.in = in;
  a.out = out;
  a.rank = options.rank;
  a.scale = static_cast<float>(options.scale());
  a.dropout = static_cast<float>(options.dropout);
  a.dropout_stream = stable_hash(module);
  a.A.value = OwnedTensor(DType::F32, {options.rank, in});
  a.B.value = OwnedTensor(DType::F32, {out, options.rank});
  std::mt19937_64 rng(seed ^ (a.dropout_stream * 0x9E3779B97F4A7C15ull));
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  std::uniform_real_distribution<double> u(-bound, bound);
  float* A = a.A.value.as<float>();
  for (int64_t i = 0; i < options.rank * in; ++i) A[i] = static_cast<float>(u(rng));
  a.refresh(precision);
  return a;
}

}  // namespace ll
