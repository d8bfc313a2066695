// Every setting of a training run (`longlora train` and `longlora sft` flags), with LongLoRA's
// fine-tune.py defaults. Saved as JSON keyed by the flag names ("lr", "warmup-steps", …) in
// RUN/train_config.json and in every checkpoint, so that `--resume RUN` reuses them and names the
// flag when a resumed command asks for different math. "task" (not a flag) is the command that
// started the run, so a resumed run reads the same kind of data.
//
// One table (fields() in train_options.cpp) is the source of every option's key and flag, help text,
// default text (from the defaults below), JSON type, command-line parsing and whether it changes
// the math; the CLI declares and reads the flags through train_flags() / set_train_option(). A new
// option is a member here and a row there.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/adamw.h"
#include "kernels/attention/attention.h"
#include "model/llama_model.h"
#include "train/schedule.h"

namespace ll {

struct TrainOptions {
  // What is trained, on what.
  std::string task = "train";  // the command: "train" (pre-training data) or "sft" (LongAlpaca JSON)
  std::string model;           // --model: HF directory or GGUF (absolute path)
  std::string data;            // --data (absolute path)
  int64_t context = 0;         // --context: tokens per row; sets the interpolation factor (0 = the model's own)
  double rope_factor = 0;      // --rope-factor: explicit linear RoPE factor (0 = from --context)
  std::string dtype;           // --dtype f32|bf16 ("" = default: bf16 for training)
  std::string token_dtype = "u16";  // --token-dtype u16|u32 (token files)
  bool doc_mask = false;       // --doc-mask: packed documents do not see each other
  bool full = false;           // --full: every weight trains, no LoRA
  std::vector<std::string> trainable = {"embed", "norm"};  // --trainable (LoRA+); {} = plain LoRA
  int64_t lora_r = 8;          // --lora-r
  double lora_alpha = 16;      // --lora-alpha
  double lora_dropout = 0;     // --lora-dropout
  std::vector<std::string> lora_targets = {"q_proj", "k_proj", "v_proj", "o_proj"};  // --lora-targets
  bool rslora = false;         // --rslora: scale alpha/√r

  // Optimisation.
  int64_t max_steps = 1000;    // --max-steps: optimizer updates
  double lr = 2e-5;            // --lr
  int64_t warmup_steps = 20;   // --warmup-steps
  LrSchedule lr_scheduler = LrSchedule::ConstantWithWarmup;  // --lr-scheduler
  double weight_decay = 0;     // --weight-decay
  double adam_beta1 = 0.9;     // --adam-beta1
  double adam_beta2 = 0.999;   // --adam-beta2
  double adam_epsilon = 1e-8;  // --adam-epsilon
  int64_t batch_size = 1;      // --batch-size: rows per micro-batch
  int64_t grad_accum = 8;      // --grad-accum: micro-batches per update
  double max_grad_norm = 1.0;  // --max-grad-norm (0 = no clipping)
  uint64_t seed = 42;          // --seed: LoRA init, data order, dropout masks

  // Attention during training.
  bool full_attn = false;           // --full-attn: plain causal instead of S²-Attn
  double s2_ratio = 0.25;           // --s2-ratio: group size G = ratio · N
  int64_t s2_group = 0;             // --s2-group: explicit G (0 = from the ratio)
  std::string s2_variant = "flash"; // --s2-variant flash|roll

  // Neither changes the result.
  bool checkpointing = true;   // --no-checkpointing turns it off
  bool recompute_attention = false;  // --recompute-attention: checkpoints hold the layer inputs only
  int64_t save_steps = 1000;   // --save-steps
  int64_t keep_checkpoints = 2;  // --keep-checkpoints
  int64_t threads = 0;         // --threads (0 = all cores)

  TrainableOptions trainable_options() const;
  AttentionMask attention_mask() const;
  ScheduleOptions schedule() const;
  AdamWSettings adamw() const;
};

// --recompute-attention without checkpointing: an InputError naming both flags, prefixed by `where`.
void check_recompute_attention(bool checkpointing, bool recompute_attention, const std::string& where);

// Refuses impossible settings with an InputError naming the flag (--batch-size 0, --context < 2, …).
// Messages start with "longlora <task>".
void validate_train_options(const TrainOptions& options);

// {"model": …, "lr": 2e-05, "warmup-steps": 20, …}: one key per flag (without "--"); booleans as
// flags are (so "no-checkpointing", not "checkpointing").
nlohmann::json train_options_to_json(const TrainOptions& options);
// The inverse; every key must be present with the right type (InputError naming `where` and the key),
// except "task", which runs saved before `longlora sft` existed lack: they are "train" runs.
TrainOptions train_options_from_json(const nlohmann::json& json, const std::string& where);

// The command-line face of the options, from the same table as the JSON keys (cli/run_training
// declares the flags and reads them back through set_train_option).
struct TrainFlag {
  std::string key;           // "lr-scheduler": the JSON key
  std::string flag;          // "--lr-scheduler"
  bool is_switch = false;    // "--full": true when given
  bool declared_here = true;  // false: a flag the model commands share (cli/model_flags) or --data
  bool packing = false;      // only for commands that pack token rows (train, not sft)
  std::string metavar, help;
  std::string default_text;  // TrainOptions{}'s value as command-line text ("" for a switch)
};
std::vector<TrainFlag> train_flags();
// Sets the option `key` from its command-line text ("true"/"false" for a switch): InputError naming
// the flag, prefixed by `where`, when the text is malformed.
void set_train_option(TrainOptions& options, const std::string& key, const std::string& text, const std::string& where);

// Whether a different value of this option (a key of train_options_to_json) changes what the
// run computes. Only --no-checkpointing, --recompute-attention, --save-steps, --keep-checkpoints and
// --threads do not.
bool option_changes_math(const std::string& key);

// InputError naming the first option (as its flag) that changes the math and differs between the
// run's saved options and `now`, with both values; `where` names the run.
void check_same_math(const nlohmann::json& saved, const nlohmann::json& now, const std::string& where);

// The options of a resumed run: the run's own (`saved`) with the options given on the command line
// (`given`: a subset of the keys) applied. A given option that changes the math and differs from the
// run's throws InputError naming the flag and both values.
TrainOptions merge_resume_options(const nlohmann::json& saved, const nlohmann::json& given,
                                  const std::string& run_dir);

}  // namespace ll
