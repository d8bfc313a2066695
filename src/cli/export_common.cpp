#include "cli/export_common.h"

#include "formats/peft.h"
#include "model/adapter.h"
#include "text/gguf_vocab.h"
#include "text/sentencepiece_model.h"
#include "text/sentencepiece_tokenizer.h"

namespace ll::cli {

std::unique_ptr<LlamaModel> open_merged_model(const Args& args, bool merge) {
  const AdapterFiles files = locate_adapter(args.required("--adapter"));
  std::string base = args.str("--model");
  if (base.empty()) {
    base = read_peft_config(files.adapter_dir).base_model_name_or_path;
    if (base.empty())
      fail_input(files.adapter_dir + "/adapter_config.json", "base_model_name_or_path is empty: give --model");
  }
  ModelOptions opts;
  opts.precision = Precision::F32;
  opts.rope_factor = args.number("--rope-factor") > 0 ? args.number("--rope-factor") : files.rope_factor;
  auto model = LlamaModel::open(base, opts);
  apply_adapter(*model, files);
  if (merge) model->merge_adapters();
  return model;
}

DType parse_weight_dtype(const std::string& s) {
  DType d;
  if (!parse_dtype(s, &d) || d == DType::I32) fail_expected("longlora", "--out-dtype", "f32, f16 or bf16", "'" + s + "'");
  return d;
}

Vocab vocab_of(const ModelFiles& files) {
  if (files.is_gguf()) return load_gguf_vocab(*files.gguf());
  const std::string path = files.tokenizer_model_path();
  if (path.empty()) fail_input(files.path(), "no tokenizer.model to export the vocabulary from");
  return load_sentencepiece_vocab(path);
}

std::string serialized_tokenizer_of(const ModelFiles& files) {
  return serialize_sentencepiece_model(load_gguf_vocab(*files.gguf()));
}

}  // namespace ll::cli
