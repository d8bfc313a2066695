#include "train/train_options.h"

#include <functional>
#include <set>
#include <type_traits>

#include "core/error.h"

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
  if (o.model.empty()) fail_input(where, "--model is required");
  if (o.data.empty()) fail_input(where, "--data is required");
}

namespace {

using nlohmann::json;

// One option: its JSON key (= flag name), whether it changes the math, and how it moves between
// TrainOptions and JSON (with the type check on the way in). `absent` is the value of runs saved
// before the option existed (null: the key is required).
struct Field {
  const char* key;
  bool math;
  std::function<json(const TrainOptions&)> get;
  std::function<void(TrainOptions&, const json&, const std::string& where)> set;
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

template <class T>
Field field(const char* key, T TrainOptions::*member, bool math = true) {
  return {key, math, [member](const TrainOptions& o) { return json(o.*member); },
          [key, member](TrainOptions& o, const json& j, const std::string& where) {
            if (!has_type<T>(j)) fail_expected(where, key, type_name<T>(), j.dump());
            o.*member = j.get<T>();
          }};
}

Field scheduler_field() {
  return {"lr-scheduler", true, [](const TrainOptions& o) { return json(lr_schedule_name(o.lr_scheduler)); },
          [](TrainOptions& o, const json& j, const std::string& where) {
            if (!j.is_string()) fail_expected(where, "lr-scheduler", "a string", j.dump());
            o.lr_scheduler = parse_lr_schedule(j.get<std::string>(), where + ": lr-scheduler");
          }};
}

Field no_checkpointing_field() {
  return {"no-checkpointing", false, [](const TrainOptions& o) { return json(!o.checkpointing); },
          [](TrainOptions& o, const json& j, const std::string& where) {
            if (!j.is_boolean()) fail_expected(where, "no-checkpointing", "true or false", j.dump());
            o.checkpointing = !j.get<bool>();
          }};
}

Field task_field() {
  Field f = field("task", &TrainOptions::task);
  f.absent = "train";
  return f;
}

const std::vector<Field>& fields() {
  static const std::vector<Field> all = {
      task_field(),
      field("model", &TrainOptions::model),
      field("data", &TrainOptions::data),
      field("context", &TrainOptions::context),
      field("rope-factor", &TrainOptions::rope_factor),
      field("dtype", &TrainOptions::dtype),
      field("token-dtype", &TrainOptions::token_dtype),
      field("doc-mask", &TrainOptions::doc_mask),
      field("full", &TrainOptions::full),
      field("trainable", &TrainOptions::trainable),
      field("lora-r", &TrainOptions::lora_r),
      field("lora-alpha", &TrainOptions::lora_alpha),
      field("lora-dropout", &TrainOptions::lora_dropout),
      field("lora-targets", &TrainOptions::lora_targets),
      field("rslora", &TrainOptions::rslora),
      field("max-steps", &TrainOptions::max_steps),
      field("lr", &TrainOptions::lr),
      field("warmup-steps", &TrainOptions::warmup_steps),
      scheduler_field(),
      field("weight-decay", &TrainOptions::weight_decay),
      field("adam-beta1", &TrainOptions::adam_beta1),
      field("adam-beta2", &TrainOptions::adam_beta2),
      field("adam-epsilon", &TrainOptions::adam_epsilon),
      field("batch-size", &TrainOptions::batch_size),
      field("grad-accum", &TrainOptions::grad_accum),
      field("max-grad-norm", &TrainOptions::max_grad_norm),
      field("seed", &TrainOptions::seed),
      field("full-attn", &TrainOptions::full_attn),
      field("s2-ratio", &TrainOptions::s2_ratio),
      field("s2-group", &TrainOptions::s2_group),
      field("s2-variant", &TrainOptions::s2_variant),
      no_checkpointing_field(),
      field("save-steps", &TrainOptions::save_steps, false),
      field("keep-checkpoints", &TrainOptions::keep_checkpoints, false),
      field("threads", &TrainOptions::threads, false),
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
    f.set(o, value, where);
  }
  return o;
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
