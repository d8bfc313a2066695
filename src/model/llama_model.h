// A LLaMA model ready to run: the checkpoint's weights prepared for the GEMMs at one compute
// precision, f32 norms, the RoPE table for the position-interpolation factor in use, and — for
// training — LoRA adapters and the f32 masters of whatever else is trainable.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "formats/checkpoint.h"
#include "kernels/matmul.h"
#include "kernels/rope.h"
#include "model/linear.h"
#include "model/lora.h"
#include "model/param.h"

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

// What training changes (DESIGN.md §2 "LoRA+"): LoRA adapters on `lora.targets`, plus every
// weight whose HF name contains one of `extra` (--trainable embed,norm); --full trains every
// weight and adds no adapters. lm_head stays frozen unless named.
struct TrainableOptions {
  bool full = false;
  bool lora_enabled = true;
  LoraOptions lora;
  std::vector<std::string> extra = {"embed", "norm"};
  uint64_t seed = 42;  // LoRA A initialisation
};

struct LlamaLayerWeights {
  Param attn_norm;  // input_layernorm [C]
  Param ffn_norm;   // post_attention_layernorm [C]
  Linear q, k, v;   // [Hq·D, C], [Hkv·D, C], [Hkv·D, C]; biases when config.qkv_bias
  Linear o;         // [C, Hq·D]; bias when config.o_bias
  Linear gate, up;  // [F, C]
  Linear down;      // [C, F]
};

class LlamaModel {
 public:
  LlamaModel(std::unique_ptr<ModelCheckpoint> checkpoint, const ModelOptions& options);
  static std::unique_ptr<LlamaModel> open(const std::string& path, const ModelOptions& options);
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  // The checkpoint's config with rope_factor set to the factor in use (set_rope_factor).
  const LlamaConfig& config() const { return config_; }
  const ModelCheckpoint& checkpoint() const { return *checkpoint_; }
  Precision precision() const { return precision_; }

  // RoPE cos/sin for positions [0, n_positions); rebuilt larger on demand.
  const RopeTable& rope(int64_t n_positions) const;
  // Runs the model at another linear RoPE factor from now on (longlora eval: one per context).
  void set_rope_factor(double factor);

  // The embedding table [V, C]: the trainable f32 master when there is one, else as stored.
  Tensor embed_table() const { return embed_master.value.empty() ? embed : embed_master.value.view(); }

  // --- training ---
  // Adds LoRA adapters and makes the chosen weights trainable (f32 masters + gradients).
  // InputError when a target or substring matches nothing in the model.
  void make_trainable(const TrainableOptions& options);
  // Every trainable tensor, in a fixed order (embedding, layers in order, final norm, lm_head;
  // LoRA A/B after each layer's weights).
  const std::vector<NamedParam>& trainable_params() const { return trainable_; }
  void zero_grads();
  // Re-prepares the GEMM weights of trainable tensors after their masters changed.
  void refresh_after_update();
  std::vector<const LoraAdapter*> lora_adapters() const;

  // --- inference with a trained run (model/adapter.h) ---
  // Puts a frozen LoRA adapter (A [r, in], B [out, r]; any float dtype) on the projection named
  // `module` ("model.layers.0.self_attn.q_proj" or "lm_head"). InputError naming `source` when the
  // module does not exist or the shapes do not fit it.
  void attach_lora(const std::string& module, const Tensor& A, const Tensor& B, float scale, const std::string& source);
  // Replaces a weight by a trained value (HF name, any float dtype), e.g. LongLoRA's trainable
  // embed/norm weights. An embedding with more rows than the vocabulary (LongLoRA's [PAD] row:
  // 32001) grows the vocabulary; an untied lm_head then gains rows equal to the mean of its rows,
  // as LongLoRA's smart_tokenizer_and_embedding_resize gives it.
  void replace_weight(const std::string& hf_name, const Tensor& value, const std::string& source);
  // Folds every LoRA adapter into its weight: W ← W + scale·B·A (in f32), adapters removed.
  void merge_adapters();
  // The weight `hf_name` (a name of llama_expected_tensors(config())) as the model now uses it: a
  // trained, replaced or merged f32 value, else the checkpoint's tensor as stored (biases and norms:
  // their f32 copies).
  Tensor current_weight(const std::string& hf_name) const;

  Tensor embed;                // [V, C], as stored
  Param embed_master;          // f32 [V, C] when the embedding is trainable; empty otherwise
  Param final_norm;            // model.norm [C]
  Linear lm_head;              // [V, C] (the embedding when tied)
  std::vector<LlamaLayerWeights> layers;

 private:
  Param* trainable_master(Linear& lin, const Tensor& stored);
  std::vector<Linear*> all_linears();
  Linear* find_linear(const std::string& module);
  void grow_vocabulary(int64_t new_vocab);

  std::unique_ptr<ModelCheckpoint> checkpoint_;
  LlamaConfig config_;
  Precision precision_;
  mutable std::unique_ptr<RopeTable> rope_;
  std::vector<std::unique_ptr<LoraAdapter>> adapters_;
  std::vector<std::unique_ptr<Param>> masters_;  // f32 masters of trainable projection weights
  std::vector<NamedParam> trainable_;
};

// Total parameters (embedding counted once when tied).
int64_t parameter_count(const LlamaConfig& config);

}  // namespace ll
