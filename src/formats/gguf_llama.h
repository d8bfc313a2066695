// A LLaMA's architecture from GGUF metadata (the llama.* keys llama.cpp writes).
#pragma once
#include "formats/gguf.h"
#include "formats/llama_config.h"

namespace ll {

// Requires general.architecture == "llama". Reads llama.{embedding_length, block_count,
// feed_forward_length, attention.head_count, attention.head_count_kv (default head_count),
// attention.key_length (default embedding_length / head_count), context_length,
// attention.layer_norm_rms_epsilon, rope.freq_base (default 10000), rope.dimension_count (must
// equal the head dim), rope.scaling.type + rope.scaling.factor or the legacy rope.scale_linear};
// vocab_size = length of tokenizer.ggml.tokens (else llama.vocab_size); bos/eos from
// tokenizer.ggml.{bos,eos}_token_id; tied embeddings when there is no output.weight; torch_dtype
// from blk.0.attn_q.weight. `raw` holds a minimal HF config for writing it out.
LlamaConfig config_from_gguf(const GgufFile& gguf);

}  // namespace ll
