#include "model/hf_export.h"

#include <filesystem>
#include <vector>

#include "core/half.h"
#include "core/mapped_file.h"
#include "formats/llama_tensors.h"
#include "formats/safetensors_writer.h"

namespace ll {

void write_hf_model_dir(const std::string& dir, const LlamaModel& model, const HfExportOptions& o) {
  std::vector<OwnedTensor> converted;
  converted.reserve(llama_expected_tensors(model.config()).size());
  NamedTensors tensors;
  for (const ExpectedTensor& e : llama_expected_tensors(model.config())) {
    OwnedTensor keep;  // a device master's host copy
    const Tensor t = model.current_weight(e.name, keep);
    if (t.dtype == o.dtype && t.is_contiguous()) {
      if (!keep.empty()) converted.push_back(std::move(keep));  // held until written (t points into it)
      tensors.emplace_back(e.name, t);  // as stored or as trained: no copy
      continue;
    }
    converted.emplace_back(o.dtype, t.shape, t.ndim);
    if (t.dtype == DType::F32 && t.is_contiguous()) {  // a trained f32 master: converted directly
      from_f32(converted.back().data(), o.dtype, static_cast<const float*>(t.data), t.numel());
    } else {
      OwnedTensor f32(DType::F32, t.shape, t.ndim);
      to_f32(f32.as<float>(), t.data, t.dtype, t.numel());
      from_f32(converted.back().data(), o.dtype, f32.as<float>(), t.numel());
    }
    tensors.emplace_back(e.name, converted.back().view());
  }
  LlamaConfig config = model.config();
  config.torch_dtype = o.dtype;
  write_directory_atomically(dir, [&](const std::string& partial) {
    write_safetensors_sharded(partial, "model", tensors, o.max_shard_bytes, {{"format", "pt"}});
    write_text_file_atomic(partial + "/config.json", to_hf_config_json(config).dump(2) + "\n");
    if (!o.serialized_tokenizer.empty())
      write_file_atomic(partial + "/tokenizer.model", o.serialized_tokenizer.data(), o.serialized_tokenizer.size());
    else if (!o.tokenizer_model.empty())
      std::filesystem::copy_file(o.tokenizer_model, partial + "/tokenizer.model");
  });
}

}  // namespace ll
