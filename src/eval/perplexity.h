// Perplexity of a model on a token stream, under LongLoRA's protocol (eval.py) or a standard one.
//
//   longlora         windows of seq_len starting at 0, 256, 512, … < len − seq_len, the last start
//                    dropped (eval.py's get_as_batch); each window's loss is the mean over its
//                    seq_len − 1 next-token predictions; perplexity = exp(mean of window losses).
//   non-overlapping  consecutive windows [k·L, (k+1)·L) that fit; perplexity = exp(Σ loss / Σ predictions).
//   strided          the HF perplexity guide: windows of L every `stride` tokens, each scoring only the
//                    tokens no earlier window scored (with up to L − stride tokens of context);
//                    perplexity = exp(Σ loss / Σ scored tokens).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "dist/communicator.h"
#include "model/llama_model.h"

namespace ll {

enum class PerplexityProtocol { LongLoRA, NonOverlapping, Strided };
const char* protocol_name(PerplexityProtocol p);                       // "longlora", "non-overlapping", "strided"
PerplexityProtocol parse_protocol(const std::string& s);               // InputError otherwise

struct PerplexityOptions {
  PerplexityProtocol protocol = PerplexityProtocol::LongLoRA;
  int64_t seq_len = 2048;
  int64_t sliding_window = 256;  // longlora: window starts every this many tokens
  int64_t stride = 512;          // strided
  int64_t batch_size = 1;        // windows per forward pass
  int64_t max_windows = 0;       // 0 = all; else the first max_windows windows (quick runs)
};

struct PerplexityResult {
  int64_t seq_len = 0;
  int64_t windows = 0;
  int64_t predictions = 0;  // next-token predictions scored
  double mean_loss = 0;     // natural log
  double perplexity = 0;
  double seconds = 0;
};

// progress(done_windows, total_windows) after every forward pass. InputError when the stream is
// too short for one window. Over several ranks (`comm`) each rank computes its share of the windows
// (dist/share.h; progress counts this rank's) and every rank returns the totals: the result equals
// one process's up to the order of the double sums.
PerplexityResult evaluate_perplexity(const LlamaModel& model, std::span<const int32_t> tokens,
                                     const PerplexityOptions& options,
                                     const std::function<void(int64_t, int64_t)>& progress = nullptr,
                                     Communicator& comm = one_process());

}  // namespace ll
