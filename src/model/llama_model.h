// A LLaMA model ready to run on a backend (backend/backend.h): the checkpoint's weights prepared for
// the backend's GEMMs at one compute precision, f32 norms, the RoPE table for the position-
// interpolation factor in use, and — for training — LoRA adapters and the f32 masters of whatever
// else is trainable, all in one TrainableStore.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "formats/model_files.h"
#include "kernels/rope.h"
#include "model/linear.h"
#include "model/lora.h"
#include "model/param.h"
#include "model/trainable_store.h"

namespace ll {

struct ModelOptions {
  Precision precision = Precision::F32;
  // Context the model will run at: sets the position-interpolation factor as LongLoRA does
  // (model/position_interpolation.h). 0 keeps the checkpoint's rope scaling.
  int64_t context = 0;
  // Explicit RoPE factor (`--rope-factor`); overrides `context` when > 0.
  double rope_factor = 0;
  Backend* backend = nullptr;  // where the model runs; nullptr = cpu_backend()
};

// What `--dtype` defaults to: f32 for f32 checkpoints at inference; bf16 for f16/bf16
// checkpoints and for training (as transformers + LongLoRA run them).
Precision default_precision(DType weight_dtype, bool training);

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
  LlamaModel(std::unique_ptr<ModelFiles> files, const ModelOptions& options);
  static std::unique_ptr<LlamaModel> open(const std::string& path, const ModelOptions& options);
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  // The checkpoint's config with rope_factor set to the factor in use (set_rope_factor).
  const LlamaConfig& config() const { return config_; }
  const ModelFiles& files() const { return *files_; }
  Precision precision() const { return precision_; }
  Backend& backend() const { return backend_; }

  // RoPE cos/sin for positions [0, n_positions), in the backend's memory; rebuilt larger on demand.
  const RopeTable& rope(int64_t n_positions) const;
  // Runs the model at another linear RoPE factor from now on (longlora eval: one per context).
  void set_rope_factor(double factor);

  // The embedding table [V, C] as the backend's embedding reads it: the f32 master when the
  // embedding is trained or replaced, else as stored.
  Tensor embed_table() const { return embed_master.value.empty() ? embed_resident_ : embed_master.value; }

  // --- training ---
  // Adds LoRA adapters and makes the chosen weights trainable: their f32 masters, gradients and
  // (with the optimizer) AdamW moments in store(). InputError when a target or substring matches
  // nothing in the model.
  void make_trainable(const TrainableOptions& options);
  // Every trainable tensor, in a fixed order (embedding, layers in order, final norm, lm_head;
  // LoRA A/B after each layer's weights): the named views of store().
  const std::vector<NamedParam>& trainable_params() const { return trainable_; }
  TrainableStore& store() { return store_; }
  const TrainableStore& store() const { return store_; }
  void zero_grads();
  // Re-prepares the GEMM weights of trainable tensors after their masters changed.
  void refresh_after_update();
  std::vector<const LoraAdapter*> lora_adapters() const;

  // --- inference with a trained run (model/adapter.h) ---
  // Puts a frozen LoRA adapter (A [r, in], B [out, r]; host, any float dtype) on the projection named
  // `module` ("model.layers.0.self_attn.q_proj" or "lm_head"). InputError naming `source` when the
  // module does not exist or the shapes do not fit it.
  void attach_lora(const std::string& module, const Tensor& A, const Tensor& B, float scale, const std::string& source);
  // Replaces a weight by a trained value (HF name, host, any float dtype), e.g. LongLoRA's trainable
  // embed/norm weights. An embedding with more rows than the vocabulary (LongLoRA's [PAD] row:
  // 32001) grows the vocabulary; an untied lm_head then gains rows equal to the mean of its rows,
  // as LongLoRA's smart_tokenizer_and_embedding_resize gives it.
  void replace_weight(const std::string& hf_name, const Tensor& value, const std::string& source);
  // Folds every LoRA adapter into its weight: W ← W + (scale·B)·A (in f32), adapters removed.
  void merge_adapters();
  // The weight `hf_name` (a name of llama_expected_tensors(config())) as the model now uses it, on
  // the host: a trained, replaced or merged f32 value (copied into `keep` when it lives on a
  // device), else the checkpoint's tensor as stored (biases and norms: their f32 copies).
  Tensor current_weight(const std::string& hf_name, OwnedTensor& keep) const;

  Tensor embed;          // [V, C], as stored (host, mapped)
  Param embed_master;    // f32 [V, C] when the embedding is trained or replaced; empty otherwise
  Param final_norm;      // model.norm [C]
  Linear lm_head;        // [V, C] (the embedding when tied)
  std::vector<LlamaLayerWeights> layers;

 private:
  std::vector<Linear*> all_linears();
  Linear* find_linear(const std::string& module);
  void grow_vocabulary(int64_t new_vocab);
  // A frozen f32 tensor [shape] the model owns in the backend's memory (norms, attached adapters,
  // replaced or merged weights), filled from `value` (host or backend memory, any float dtype).
  Tensor owned_f32(const Tensor& value);
  // lin's weight replaced by an owned f32 master holding `value`, prepared for the GEMMs.
  void own_master(Linear& lin, const Tensor& value);

  std::unique_ptr<ModelFiles> files_;
  LlamaConfig config_;
  Precision precision_;
  Backend& backend_;
  Tensor embed_resident_;   // embed as the backend reads it
  OwnedTensor embed_keep_;  // its device copy, when the backend cannot read the host's memory
  mutable std::unique_ptr<RopeTable> rope_;
  std::vector<OwnedTensor> owned_;                // see owned_f32
  std::vector<std::unique_ptr<Param>> masters_;   // f32 masters of projections (trained: views into store_)
  std::vector<std::unique_ptr<LoraAdapter>> adapters_;
  TrainableStore store_;
  std::vector<NamedParam> trainable_;
};

// Total parameters (embedding counted once when tied).
int64_t parameter_count(const LlamaConfig& config);

}  // namespace ll
