#include "train/train_options.h"

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <functional>
#include <type_traits>

#include "core/error.h"
#include "formats/token_file.h"

namespace ll {

TrainableOptions TrainOptions::trainable_options() const {
  TrainableOptions t;
  t.full = full;
  t.lora.rank = lora_r;
  t.lora.alpha = lora_alpha;
  t.lora.dropout = lora_dropout;
  t.lora.rslora = rslora;
  t.lora.targets = lora_targets;
  t.extra = trainable;
  t.seed = seed;
  return t;
}

AttentionMask TrainOptions::attention_mask() const {
  AttentionMask m;
  m.mode = full_attn ? AttentionMode::Causal : s2_variant == "roll" ? AttentionMode::S2Roll : AttentionMode::S2Shift;
  m.s2_ratio = s2_ratio;
  m.s2_group = s2_group;
  return m;
}

ScheduleOptions TrainOptions::schedule() const { return {lr_scheduler, lr, warmup_steps, max_steps}; }

AdamWSettings TrainOptions::adamw() const { return {lr, adam_beta1, adam_beta2, adam_epsilon, weight_decay}; }

void check_recompute_attention(bool checkpointing, bool recompute_attention, const std::string& where) {
  if (recompute_attention && !checkpointing)
    fail_input(where, "--recompute-attention applies to checkpointing: drop it or --no-checkpointing");
}

void validate_train_options(const TrainOptions& o) {
  if (o.task != "train" && o.task != "sft") fail_expected("training options", "task", "train or sft", "'" + o.task + "'");
  const std::string where = "longlora " + o.task;
  auto at_least = [&](const char* flag, int64_t value, int64_t min, const char* what) {
    if (value < min) fail_expected(where, flag, what, std::to_string(value));
  };
  auto in_range = [&](const char* flag, double value, bool ok, const char* what) {
    if (!ok) fail_expected(where, flag, what, nlohmann::json(value).dump());
  };
  if (o.context != 0) at_least("--context", o.context, 2, "a row length ≥ 2 tokens (or 0: the model's own)");
  at_least("--max-steps", o.max_steps, 1, "a step count ≥ 1");
  at_least("--warmup-steps", o.warmup_steps, 0, "a step count ≥ 0");
  at_least("--batch-size", o.batch_size, 1, "a row count ≥ 1");
  at_least("--grad-accum", o.grad_accum, 1, "a micro-batch count ≥ 1");
  at_least("--save-steps", o.save_steps, 1, "a step count ≥ 1");
  at_least("--keep-checkpoints", o.keep_checkpoints, 1, "a count ≥ 1");
  at_least("--threads", o.threads, 0, "a count ≥ 0");
  at_least("--s2-group", o.s2_group, 0, "a group size ≥ 1 (or 0 for --s2-ratio)");
  at_least("--lora-r", o.lora_r, 1, "a rank ≥ 1");
  in_range("--rope-factor", o.rope_factor, o.rope_factor == 0 || o.rope_factor >= 1, "0 (from --context) or a factor ≥ 1");
  in_range("--lr", o.lr, o.lr >= 0, "a learning rate ≥ 0");
  in_range("--weight-decay", o.weight_decay, o.weight_decay >= 0, "a decay ≥ 0");
  in_range("--adam-beta1", o.adam_beta1, o.adam_beta1 >= 0 && o.adam_beta1 < 1, "a value in [0, 1)");
  in_range("--adam-beta2", o.adam_beta2, o.adam_beta2 >= 0 && o.adam_beta2 < 1, "a value in [0, 1)");
  in_range("--adam-epsilon", o.adam_epsilon, o.adam_epsilon > 0, "a value > 0");
  in_range("--max-grad-norm", o.max_grad_norm, o.max_grad_norm >= 0, "a norm ≥ 0 (0 = no clipping)");
  in_range("--s2-ratio", o.s2_ratio, o.s2_ratio > 0 && o.s2_ratio <= 1, "a ratio in (0, 1]");
  in_range("--lora-alpha", o.lora_alpha, o.lora_alpha > 0, "a value > 0");
  in_range("--lora-dropout", o.lora_dropout, o.lora_dropout >= 0 && o.lora_dropout < 1, "a probability in [0, 1)");
  if (o.s2_variant != "flash" && o.s2_variant != "roll")
    fail_expected(where, "--s2-variant", "flash or roll", "'" + o.s2_variant + "'");
  if (o.token_dtype != "u16" && o.token_dtype != "u32")
    fail_expected(where, "--token-dtype", "u16 or u32", "'" + o.token_dtype + "'");
  if (!o.dtype.empty() && o.dtype != "f32" && o.dtype != "bf16")
    fail_expected(where, "--dtype", "f32 or bf16", "'" + o.dtype + "'");
  check_recompute_attention(o.checkpointing, o.recompute_attention, where);
  if (o.model.empty()) fail_input(where, "--model is required");
  if (o.data.empty()) fail_input(where, "--data is required");
}

namespace {

using nlohmann::json;

// How an option appears on the command line of `longlora train|sft`.
enum class Cli {
  None,    // not a flag ("task": the command itself)
  Model,   // declared by cli/model_flags with the other model commands' shared flags
  Data,    // --data: declared by each command with its own help
  Value,   // --key VALUE
  Switch,  // --key (true when given)
};

// One option — the single source of its JSON key (= flag name), whether it changes the math, its
// command-line form, help and default text (from TrainOptions{}), and how it moves between
// TrainOptions, JSON and command-line text (with the type check on the way in). `absent` is the
// value of runs saved before the option existed (null: the key is required).
struct Field {
  const char* key;
  bool math;
  Cli cli;
  const char* metavar;  // of a Value
  const char* help;
  std::function<json(const TrainOptions&)> get;
  std::function<void(TrainOptions&, const json&, const std::string& where, const std::string& name)> set;
  // Command-line text → the JSON value set() takes; InputError naming `flag` when malformed.
  std::function<json(const std::string& text, const std::string& where, const std::string& flag)> parse;
  bool packing = false;  // only for commands that pack token rows (train, not sft)
  json absent = nullptr;
};

template <class T>
bool has_type(const json& j) {
  if constexpr (std::is_same_v<T, bool>) return j.is_boolean();
  else if constexpr (std::is_same_v<T, std::string>) return j.is_string();
  else if constexpr (std::is_same_v<T, uint64_t>) return j.is_number_unsigned();
  else if constexpr (std::is_integral_v<T>) return j.is_number_integer();
  else if constexpr (std::is_floating_point_v<T>) return j.is_number();
  else {
    static_assert(std::is_same_v<T, std::vector<std::string>>);
    if (!j.is_array()) return false;
    for (const json& e : j)
      if (!e.is_string()) return false;
    return true;
  }
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else if constexpr (std::is_same_v<T, uint64_t>) return "an integer ≥ 0";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else return "a list of strings";
}

// "a,,b" → ["a", "b"]; "" → [].
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// Command-line text as a T (a switch's text is "true" or "false"), as JSON.
template <class T>
json parse_text(const std::string& text, const std::string& where, const std::string& flag) {
  if constexpr (std::is_same_v<T, bool>) {
    return text == "true";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return text;
  } else if constexpr (std::is_integral_v<T>) {
    errno = 0;
    char* end = nullptr;
    const long long x = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0) fail_expected(where, "option " + flag, "an integer", "'" + text + "'");
    if (std::is_unsigned_v<T> && x >= 0) return static_cast<uint64_t>(x);  // JSON's unsigned kind, as set() checks
    return x;
  } else if constexpr (std::is_floating_point_v<T>) {
    errno = 0;
    char* end = nullptr;
    const double x = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0) fail_expected(where, "option " + flag, "a number", "'" + text + "'");
    return x;
  } else {
    return split_list(text);
  }
}

template <class T>
Field field(const char* key, T TrainOptions::*member, Cli cli, const char* metavar, const char* help, bool math = true) {
  return {key, math, cli, metavar, help, [member](const TrainOptions& o) { return json(o.*member); },
          [member](TrainOptions& o, const json& j, const std::string& where, const std::string& name) {
            if (!has_type<T>(j)) fail_expected(where, name, type_name<T>(), j.dump());
            o.*member = j.get<T>();
          },
          parse_text<T>};
}

Field scheduler_field() {
  return {"lr-scheduler", true, Cli::Value, "S", "constant_with_warmup, linear or cosine",
          [](const TrainOptions& o) { return json(lr_schedule_name(o.lr_scheduler)); },
          [](TrainOptions& o, const json& j, const std::string& where, const std::string& name) {
            if (!j.is_string()) fail_expected(where, name, "a string", j.dump());
            o.lr_scheduler = parse_lr_schedule(j.get<std::string>(), where, name);
          },
          parse_text<std::string>};
}

Field token_dtype_field() {
  Field f = field("token-dtype", &TrainOptions::token_dtype, Cli::Value, "T", "token files hold u16 or u32 ids");
  f.parse = [](const std::string& text, const std::string&, const std::string& flag) {
    return json(token_dtype_name(parse_token_dtype(text, flag)));
  };
  f.packing = true;
  return f;
}

// Saved as "no-checkpointing" (the flag), held as TrainOptions::checkpointing.
Field no_checkpointing_field() {
  return {"no-checkpointing", false, Cli::Switch, "", "keep every layer's activations instead of recomputing them",
          [](const TrainOptions& o) { return json(!o.checkpointing); },
          [](TrainOptions& o, const json& j, const std::string& where, const std::string& name) {
            if (!j.is_boolean()) fail_expected(where, name, "true or false", j.dump());
            o.checkpointing = !j.get<bool>();
          },
          parse_text<bool>};
}

Field recompute_attention_field() {
  Field f = field("recompute-attention", &TrainOptions::recompute_attention, Cli::Switch, "",
                  "keep only the layer inputs: recompute attention in the backward too (less memory a token, "
                  "more time)",
                  /*math=*/false);
  f.absent = false;  // runs saved before the flag existed kept attention
  return f;
}

Field task_field() {
  Field f = field("task", &TrainOptions::task, Cli::None, "", "the command that started the run");
  f.absent = "train";  // runs saved before `longlora sft` existed
  return f;
}

Field packing(Field f) {
  f.packing = true;
  return f;
}

const std::vector<Field>& fields() {
  static const std::vector<Field> all = {
        task_field(),
        field("model", &TrainOptions::model, Cli::Model, "", ""),
        field("data", &TrainOptions::data, Cli::Data, "", ""),
        field("context", &TrainOptions::context, Cli::Model, "", ""),
        field("rope-factor", &TrainOptions::rope_factor, Cli::Model, "", ""),
        field("dtype", &TrainOptions::dtype, Cli::Model, "", ""),
        token_dtype_field(),
        packing(field("doc-mask", &TrainOptions::doc_mask, Cli::Switch, "", "packed documents do not attend to each other")),
        field("full", &TrainOptions::full, Cli::Switch, "", "train every weight (no LoRA); writes an HF model directory"),
        field("trainable", &TrainOptions::trainable, Cli::Value, "LIST",
              "also train weights whose name contains one of these (\"\" = plain LoRA)"),
        field("lora-r", &TrainOptions::lora_r, Cli::Value, "R", "LoRA rank"),
        field("lora-alpha", &TrainOptions::lora_alpha, Cli::Value, "A", "LoRA alpha (scale alpha/r)"),
        field("lora-dropout", &TrainOptions::lora_dropout, Cli::Value, "P", "LoRA dropout probability"),
        field("lora-targets", &TrainOptions::lora_targets, Cli::Value, "LIST", "modules that get LoRA adapters"),
        field("rslora", &TrainOptions::rslora, Cli::Switch, "", "scale LoRA by alpha/sqrt(r)"),
        field("max-steps", &TrainOptions::max_steps, Cli::Value, "N", "optimizer updates"),
        field("lr", &TrainOptions::lr, Cli::Value, "LR", "peak learning rate"),
        field("warmup-steps", &TrainOptions::warmup_steps, Cli::Value, "N", "linear warm-up updates"),
        scheduler_field(),
        field("weight-decay", &TrainOptions::weight_decay, Cli::Value, "WD",
              "AdamW weight decay (not on norm weights and biases, as HF Trainer)"),
        field("adam-beta1", &TrainOptions::adam_beta1, Cli::Value, "B", "AdamW beta1"),
        field("adam-beta2", &TrainOptions::adam_beta2, Cli::Value, "B", "AdamW beta2"),
        field("adam-epsilon", &TrainOptions::adam_epsilon, Cli::Value, "E", "AdamW epsilon"),
        field("batch-size", &TrainOptions::batch_size, Cli::Value, "N", "rows per micro-batch"),
        field("grad-accum", &TrainOptions::grad_accum, Cli::Value, "N", "micro-batches per update"),
        field("max-grad-norm", &TrainOptions::max_grad_norm, Cli::Value, "X",
              "clip the global gradient norm to this (0 = no clipping)"),
        field("seed", &TrainOptions::seed, Cli::Value, "S", "seed of LoRA init, data order and dropout"),
        field("full-attn", &TrainOptions::full_attn, Cli::Switch, "", "full causal attention instead of S2-Attn"),
        field("s2-ratio", &TrainOptions::s2_ratio, Cli::Value, "R", "S2-Attn group size as a fraction of the row length"),
        field("s2-group", &TrainOptions::s2_group, Cli::Value, "G", "explicit S2-Attn group size (0 = from --s2-ratio)"),
        field("s2-variant", &TrainOptions::s2_variant, Cli::Value, "V",
              "flash (LongLoRA's released models) or roll (the paper's Algorithm 1)"),
        no_checkpointing_field(),
        recompute_attention_field(),
        field("save-steps", &TrainOptions::save_steps, Cli::Value, "N", "checkpoint every N updates (and after the last)",
              /*math=*/false),
        field("keep-checkpoints", &TrainOptions::keep_checkpoints, Cli::Value, "N", "checkpoints kept", /*math=*/false),
        field("threads", &TrainOptions::threads, Cli::Model, "", "", /*math=*/false),
  };
  return all;
}

const Field* find_field(const std::string& key) {
  for (const Field& f : fields())
    if (key == f.key) return &f;
  return nullptr;
}

// The field's value in saved options: the saved one, or `absent` when the key is missing.
json saved_value(const json& options, const Field& f) {
  const auto it = options.find(f.key);
  return it != options.end() ? *it : f.absent;
}

}  // namespace

json train_options_to_json(const TrainOptions& options) {
  json j = json::object();
  for (const Field& f : fields()) j[f.key] = f.get(options);
  return j;
}

TrainOptions train_options_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail_expected(where, "options", "a JSON object", j.type_name());
  TrainOptions o;
  for (const Field& f : fields()) {
    const json value = saved_value(j, f);
    if (value.is_null()) fail_input(where, std::string("option '") + f.key + "' is missing");
    f.set(o, value, where, f.key);
  }
  return o;
}

std::vector<TrainFlag> train_flags() {
  const TrainOptions defaults;
  std::vector<TrainFlag> out;
  for (const Field& f : fields()) {
    if (f.cli == Cli::None) continue;
    TrainFlag t;
    t.key = f.key;
    t.flag = std::string("--") + f.key;
    t.is_switch = f.cli == Cli::Switch;
    t.declared_here = f.cli == Cli::Value || f.cli == Cli::Switch;
    t.packing = f.packing;
    t.metavar = f.metavar;
    t.help = f.help;
    const json d = f.get(defaults);
    if (d.is_string()) {
      t.default_text = d.get<std::string>();
    } else if (d.is_array()) {
      for (const json& e : d) t.default_text += (t.default_text.empty() ? "" : ",") + e.get<std::string>();
    } else if (d.is_number_float()) {
      char text[32];
      std::snprintf(text, sizeof text, "%g", d.get<double>());
      t.default_text = text;
    } else if (!d.is_boolean()) {
      t.default_text = d.dump();
    }
    out.push_back(std::move(t));
  }
  return out;
}

void set_train_option(TrainOptions& options, const std::string& key, const std::string& text, const std::string& where) {
  const Field* f = find_field(key);
  LL_CHECK(f != nullptr && f->cli != Cli::None);
  const std::string flag = std::string("--") + f->key;
  f->set(options, f->parse(text, where, flag), where, flag);
}

bool option_changes_math(const std::string& key) {
  const Field* f = find_field(key);
  LL_CHECK(f != nullptr);
  return f->math;
}

void check_same_math(const json& saved, const json& now, const std::string& where) {
  for (const Field& f : fields()) {
    if (!f.math) continue;
    const json a = saved_value(saved, f), b = saved_value(now, f);
    if (a == b) continue;
    if (std::string(f.key) == "task" && a.is_string() && b.is_string())
      fail_input(where, "a `longlora " + a.get<std::string>() + "` run, not a `longlora " + b.get<std::string>() +
                            "` one: continue it with longlora " + a.get<std::string>() + " --resume");
    fail_input(where, std::string("--") + f.key + " " + b.dump() + " differs from the run's " + a.dump() +
                          ": a resumed run keeps every option that changes the result");
  }
}

TrainOptions merge_resume_options(const json& saved, const json& given, const std::string& run_dir) {
  json merged = saved;
  for (const auto& [key, value] : given.items()) {
    LL_CHECK(find_field(key) != nullptr);
    merged[key] = value;
  }
  check_same_math(saved, merged, "--resume " + run_dir);
  return train_options_from_json(merged, run_dir);
}

}  // namespace ll
