#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/progress.h"
#include "core/ignore_index.h"
#include "dist/share.h"
#include "model/forward.h"

namespace ll {

const char* protocol_name(PerplexityProtocol p) {
  switch (p) {
    case PerplexityProtocol::LongLoRA: return "longlora";
    case PerplexityProtocol::NonOverlapping: return "non-overlapping";
    case PerplexityProtocol::Strided: return "strided";
  }
  return "?";
}

PerplexityProtocol parse_protocol(const std::string& s) {
  if (s == "longlora") return PerplexityProtocol::LongLoRA;
  if (s == "non-overlapping") return PerplexityProtocol::NonOverlapping;
  if (s == "strided") return PerplexityProtocol::Strided;
  fail_expected("longlora eval", "--protocol", "longlora, non-overlapping or strided", "'" + s + "'");
}

namespace {

// A window: tokens [begin, begin + len) of the stream; the predictions of positions ≥ score_from
// (relative to begin) count.
struct Window {
  int64_t begin, len, score_from;
};

std::vector<Window> plan_windows(int64_t n, const PerplexityOptions& o) {
  std::vector<Window> w;
  const int64_t L = o.seq_len;
  switch (o.protocol) {
    case PerplexityProtocol::LongLoRA:
      for (int64_t s = 0; s < n - L; s += o.sliding_window) w.push_back({s, L, 0});
      if (!w.empty()) w.pop_back();  // eval.py drops the last start
      break;
    case PerplexityProtocol::NonOverlapping:
      for (int64_t s = 0; s + L <= n; s += L) w.push_back({s, L, 0});
      break;
    case PerplexityProtocol::Strided: {
      int64_t prev_end = 0;
      for (int64_t s = 0; s < n; s += o.stride) {
        const int64_t end = std::min(s + L, n);
        // Target position t predicts token t + 1: score those whose target is past prev_end.
        if (end - s >= 2) w.push_back({s, end - s, std::max<int64_t>(0, prev_end - s - 1)});
        prev_end = end;
        if (end == n) break;
      }
      break;
    }
  }
  if (o.max_windows > 0 && static_cast<int64_t>(w.size()) > o.max_windows) w.resize(static_cast<size_t>(o.max_windows));
  return w;
}

}  // namespace

PerplexityResult evaluate_perplexity(const LlamaModel& model, std::span<const int32_t> tokens,
                                     const PerplexityOptions& o,
                                     const std::function<void(int64_t, int64_t)>& progress, Communicator& comm) {
  if (o.seq_len < 2) fail_expected("longlora eval", "--context", "lengths ≥ 2", std::to_string(o.seq_len));
  if (o.batch_size < 1) fail_expected("longlora eval", "--batch-size", "≥ 1", std::to_string(o.batch_size));
  const int64_t n = static_cast<int64_t>(tokens.size());
  const std::vector<Window> windows = plan_windows(n, o);
  if (windows.empty())
    fail_input("longlora eval", "the data has " + std::to_string(n) + " tokens: too short for one " +
                                    protocol_name(o.protocol) + " window of " + std::to_string(o.seq_len) +
                                    (o.protocol == PerplexityProtocol::LongLoRA ? " (needs more than seq_len + 256)" : ""));
  const int64_t C = model.config().hidden_size;
  Arena arena(model.backend(), 0);
  Stopwatch clock;
  PerplexityResult r;
  r.seq_len = o.seq_len;
  double window_loss_sum = 0, loss_sum = 0;
  const Share mine = share_of(static_cast<int64_t>(windows.size()), comm);
  for (int64_t w0 = mine.begin; w0 < mine.end; w0 += o.batch_size) {
    ArenaScope scope(arena);
    const int64_t B = std::min<int64_t>(o.batch_size, mine.end - w0);
    BatchLayout layout;
    layout.B = B;
    layout.T = o.seq_len;
    std::vector<int32_t> ids(static_cast<size_t>(B * o.seq_len), 0), targets(ids.size(), kIgnoreIndex);
    for (int64_t b = 0; b < B; ++b) {
      const Window& w = windows[static_cast<size_t>(w0 + b)];
      layout.lengths.push_back(w.len);
      std::copy_n(tokens.begin() + w.begin, w.len, ids.begin() + b * o.seq_len);
      for (int64_t t = w.score_from; t + 1 < w.len; ++t)
        targets[static_cast<size_t>(b * o.seq_len + t)] = tokens[static_cast<size_t>(w.begin + t + 1)];
    }
    float* hidden = arena.alloc<float>(layout.rows() * C);
    forward_hidden(model, layout, ids.data(), AttentionMask{}, hidden, arena);
    for (int64_t b = 0; b < B; ++b) {
      const Window& w = windows[static_cast<size_t>(w0 + b)];
      const int64_t count = w.len - 1 - w.score_from;
      const double sum = lm_head_loss_sum(model, hidden + b * o.seq_len * C, targets.data() + b * o.seq_len, o.seq_len, arena);
      window_loss_sum += sum / static_cast<double>(count);
      loss_sum += sum;
      r.predictions += count;
    }
    r.windows += B;
    if (progress) progress(r.windows, mine.size());
  }
  double totals[] = {window_loss_sum, loss_sum, static_cast<double>(r.predictions), static_cast<double>(r.windows)};
  comm.all_reduce_sum(totals, 4);  // counts below 2^53 travel exactly as doubles
  window_loss_sum = totals[0];
  loss_sum = totals[1];
  r.predictions = static_cast<int64_t>(totals[2]);
  r.windows = static_cast<int64_t>(totals[3]);
  r.mean_loss = o.protocol == PerplexityProtocol::LongLoRA ? window_loss_sum / static_cast<double>(r.windows)
                                                            : loss_sum / static_cast<double>(r.predictions);
  r.perplexity = std::exp(r.mean_loss);
  r.seconds = clock.seconds();
  return r;
}

}  // namespace ll
