// LoRA adapters (Hu et al. 2021) on the model's projections, with PEFT's conventions:
//   y = x·Wᵀ + scale · (dropout(x)·Aᵀ)·Bᵀ,   A [r, in], B [out, r],   scale = alpha / r
// (alpha / √r with rsLoRA). New adapters start as PEFT's: A ~ kaiming_uniform(a=√5) =
// U(±1/√in), B = 0, so the adapted model starts equal to the base.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/param.h"

namespace ll {

struct LoraOptions {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0;
  bool rslora = false;
  // Module suffixes as PEFT's target_modules: any of q_proj k_proj v_proj o_proj gate_proj up_proj
  // down_proj lm_head.
  std::vector<std::string> targets = {"q_proj", "k_proj", "v_proj", "o_proj"};
  double scale() const;
};

struct LoraAdapter {
  std::string module;  // HF module name, "model.layers.3.self_attn.q_proj"
  int64_t in = 0, out = 0, rank = 0;
  float scale = 1;
  float dropout = 0;
  uint64_t dropout_stream = 0;  // distinct per adapter: which random masks it draws
  Param A;                      // [r, in]
  Param B;                      // [out, r]
  GemmWeight gemm_A, gemm_B;    // A and B prepared for the GEMMs (refresh() after they change)

  // Prepares gemm_A and gemm_B from A's and B's current values.
  void refresh(Backend& backend, Precision p);
  // The adapter as the backend's fused LoRA ops take it.
  LoraOp op() const;
  // PEFT tensor names of A and B.
  std::string name_A() const { return "base_model.model." + module + ".lora_A.weight"; }
  std::string name_B() const { return "base_model.model." + module + ".lora_B.weight"; }
};

// A new adapter's settings for a module of shape [out, in] (parameters not yet placed).
LoraAdapter new_lora_adapter(const std::string& module, int64_t in, int64_t out, const LoraOptions& options);

// A new adapter's initial A [r, in] ~ U(±1/√in), drawn from `seed` and the module name (so each
// adapter differs), on the host.
std::vector<float> initial_lora_A(const std::string& module, int64_t in, int64_t rank, uint64_t seed);

}  // namespace ll
