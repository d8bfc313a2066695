#include "train/pretrain_data.h"

#include <memory>
#include <numeric>

#include "core/error.h"
#include "train/data_encoder.h"
#include "train/data_files.h"
#include "train/data_order.h"
#include "train/data_stream.h"
#include "train/data_summary.h"
#include "train/packing.h"

namespace ll {

namespace {

struct LoadedStream {
  TokenStream stream;
  int64_t documents = 0;
};

// Appends a token file; its documents end at each EOS (a last one may lack it). With a limit of
// `max_documents` (> 0), stops right after the EOS that ends the limit-th document.
int64_t append_token_file(TokenStream& stream, TokenFile tokens, int32_t eos_id, int64_t max_documents) {
  const int64_t size = tokens.size();
  int64_t documents = 0, end = size;
  for (int64_t i = 0; i < size; ++i) {
    if (tokens[i] == eos_id && ++documents == max_documents) {
      end = i + 1;
      break;
    }
  }
  if (end == size && size > 0 && tokens[size - 1] != eos_id) ++documents;
  const int64_t stream_end = stream.size() + end;
  stream.append(std::move(tokens));
  stream.truncate(stream_end);
  return documents;
}

LoadedStream load_stream(const std::string& path, const DataVocabulary& vocab, const PretrainDataOptions& options) {
  std::unique_ptr<DataEncoder> encoder;  // made for the first text file: token files need no tokenizer
  LoadedStream loaded;
  for (const DataFile& file : list_data_files(path)) {
    int64_t remaining = 0;  // documents still allowed; 0 = no limit
    if (options.max_documents > 0) {
      remaining = options.max_documents - loaded.documents;
      if (remaining == 0) break;
    }
    if (file.kind == DataFileKind::Tokens) {
      loaded.documents += append_token_file(
          loaded.stream, open_token_file(file.path, options.token_dtype, vocab.size()), vocab.eos_id(), remaining);
      continue;
    }
    if (!encoder) encoder = std::make_unique<DataEncoder>(vocab.tokenizer());
    const TextDocuments documents(file, remaining);
    const std::vector<std::string_view> texts = documents.texts();
    std::vector<std::vector<int32_t>> ids = encoder->encode_all(texts, /*add_bos=*/true, /*add_eos=*/true);
    std::vector<int32_t> joined;
    joined.reserve(std::accumulate(ids.begin(), ids.end(), size_t{0},
                                   [](size_t n, const std::vector<int32_t>& d) { return n + d.size(); }));
    for (std::vector<int32_t>& document : ids) {
      joined.insert(joined.end(), document.begin(), document.end());
      std::vector<int32_t>().swap(document);
    }
    loaded.stream.append(std::move(joined));
    loaded.documents += documents.size();
  }
  if (options.max_tokens > 0 && options.max_tokens < loaded.stream.size()) loaded.stream.truncate(options.max_tokens);
  return loaded;
}

class PretrainData final : public BatchSource {
 public:
  PretrainData(const std::string& path, LoadedStream loaded, const DataVocabulary& vocab,
               const PretrainDataOptions& options)
      : stream_(std::move(loaded.stream)),
        context_(options.context),
        rows_(packed_rows(stream_.size(), context_)),
        doc_mask_(options.doc_mask),
        bos_id_(vocab.bos_id()),
        eos_id_(vocab.eos_id()),
        walker_(rows_, options.seed, fingerprint(options),
                [rows = rows_, seed = options.seed, shuffle = options.shuffle](int64_t epoch) {
                  return epoch_order(rows, seed, epoch, shuffle);
                }) {
    description_ = data_name(path) + ": " + short_count(stream_.size()) +
                   " tokens in " + std::to_string(loaded.documents) + " document" +
                   (loaded.documents == 1 ? "" : "s") + ", " + std::to_string(rows_) + " row" +
                   (rows_ == 1 ? "" : "s") + " of " + std::to_string(context_);
  }

  TrainBatch next(int64_t batch_size) override {
    LL_CHECK(batch_size > 0);
    TrainBatch batch;
    batch.layout.B = batch_size;
    batch.layout.T = context_;
    batch.layout.lengths.assign(batch_size, context_);
    batch.tokens.resize(batch_size * context_);
    batch.targets.resize(batch_size * context_);
    if (doc_mask_) batch.doc_starts.resize(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) {
      int32_t* tokens = batch.tokens.data() + b * context_;
      pack_row(stream_, walker_.next(), context_, tokens, batch.targets.data() + b * context_);
      if (doc_mask_) batch.doc_starts[b] = document_starts({tokens, static_cast<size_t>(context_)}, bos_id_, eos_id_);
    }
    return batch;
  }

  nlohmann::json cursor() const override {
    nlohmann::json cursor = walker_.cursor();
    cursor["kind"] = "pretrain";
    return cursor;
  }
  void restore(const nlohmann::json& cursor) override { walker_.restore(cursor); }
  int64_t rows_per_epoch() const override { return rows_; }
  int64_t tokens_per_epoch() const override { return rows_ * context_; }
  std::string describe() const override { return description_; }

 private:
  // What a cursor must match: the options that shape the rows, and the rows' tokens (sampled:
  // the first and last token of every row, so it costs O(rows) whatever the data size).
  std::string fingerprint(const PretrainDataOptions& options) const {
    Fingerprint f;
    f.add("pretrain");
    f.add(static_cast<uint64_t>(context_));
    f.add(static_cast<uint64_t>(options.shuffle));
    f.add(static_cast<uint64_t>(options.doc_mask));
    f.add(static_cast<uint64_t>(stream_.size()));
    for (int64_t row = 0; row < rows_; ++row) {
      f.add(static_cast<uint64_t>(stream_.at(row * context_)));
      f.add(static_cast<uint64_t>(stream_.at(row * context_ + context_ - 1)));
    }
    return f.hex();
  }

  TokenStream stream_;
  int64_t context_, rows_;
  bool doc_mask_;
  int32_t bos_id_, eos_id_;
  EpochWalker walker_;
  std::string description_;
};

}  // namespace

std::unique_ptr<BatchSource> open_pretrain_data(const std::string& path, const DataVocabulary& vocab,
                                                const PretrainDataOptions& options) {
  if (options.context < 2)
    fail_expected("--context", "tokens per row", "at least 2", std::to_string(options.context));
  LoadedStream loaded = load_stream(path, vocab, options);
  if (loaded.stream.size() < options.context)
    fail_input("", path + " has " + std::to_string(loaded.stream.size()) + " tokens; one row of --context " +
                       std::to_string(options.context) + " needs at least " + std::to_string(options.context));
  return std::make_unique<PretrainData>(path, std::move(loaded), vocab, options);
}

}  // namespace ll
