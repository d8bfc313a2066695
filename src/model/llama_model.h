// A LLaMA model ready to run: the checkpoint's weights prepared for the GEMMs at one compute
// precision, f32 norms, and the RoPE table for the position-interpolation factor in use.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "formats/checkpoint.h"
#include "kernels/matmul.h"
#include "kernels/rope.h"

namespace ll {

struct ModelOptions {
  Precision precision = Precision::F32;
  // Context the model will run at: sets the position-interpolation factor as LongLoRA does
  // (model/position_interpolation.h). 0 keeps the checkpoint's rope scaling.
  int64_t context = 0;
  // Explicit RoPE factor (`--rope-factor`); overrides `context` when > 0.
  double rope_factor = 0;
};

// What `--dtype` defaults to: f32 for f32 checkpoints at inference; bf16 for f16/bf16
// checkpoints and for training (as transformers + LongLoRA run them).
Precision default_precision(DType weight_dtype, bool training);
// Parses "f32" / "bf16" (the --dtype flag); InputError otherwise.
Precision parse_precision(const std::string& s);

struct LlamaLayerWeights {
  OwnedTensor attn_norm;  // input_layernorm [C], f32
  OwnedTensor ffn_norm;   // post_attention_layernorm [C], f32
  GemmWeight q, k, v;     // [Hq·D, C], [Hkv·D, C], [Hkv·D, C]
  GemmWeight o;           // [C, Hq·D]
  GemmWeight gate, up;    // [F, C]
  GemmWeight down;        // [C, F]
};

class LlamaModel {
 public:
  LlamaModel(std::unique_ptr<ModelCheckpoint> checkpoint, const ModelOptions& options);
  static std::unique_ptr<LlamaModel> open(const std::string& path, const ModelOptions& options);

  // The checkpoint's config with rope_factor set to the factor in use.
  const LlamaConfig& config() const { return config_; }
  const ModelCheckpoint& checkpoint() const { return *checkpoint_; }
  Precision precision() const { return precision_; }

  // RoPE cos/sin for positions [0, n_positions); rebuilt larger on demand.
  const RopeTable& rope(int64_t n_positions) const;

  Tensor embed;                     // [V, C], as stored
  OwnedTensor final_norm;           // model.norm [C], f32
  GemmWeight lm_head;               // [V, C] (the embedding when tied)
  std::vector<LlamaLayerWeights> layers;

 private:
  std::unique_ptr<ModelCheckpoint> checkpoint_;
  LlamaConfig config_;
  Precision precision_;
  mutable std::unique_ptr<RopeTable> rope_;
};

// Total parameters (embedding counted once when tied).
int64_t parameter_count(const LlamaConfig& config);

}  // namespace ll
