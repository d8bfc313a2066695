// Pre-training data: packing (exact rows, targets, document starts), every input kind, seeded
// order, cursor/restore, limits and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>

#include "formats/token_file.h"
#include "kernels/cross_entropy.h"
#include "support/test_support.h"
#include "train/pretrain_data.h"
#include "train_data_test_util.h"

namespace ll::test {
namespace {

PretrainDataOptions in_order(int64_t context, bool doc_mask = false) {
  PretrainDataOptions options;
  options.context = context;
  options.shuffle = false;
  options.doc_mask = doc_mask;
  return options;
}

// All rows of one epoch, read one batch of `batch_size` at a time (rows_per_epoch divisible by it).
std::vector<TrainBatch> one_epoch(BatchSource& data, int64_t batch_size) {
  std::vector<TrainBatch> batches;
  for (int64_t read = 0; read < data.rows_per_epoch(); read += batch_size) batches.push_back(data.next(batch_size));
  return batches;
}

// The hand-made stream: 3 documents separated by EOS (2); BOS (1) inside the third.
//   positions  0..4: 10 11 12 13  2 | 5..8: 20 21 22  2 | 9..15: 1 30 31 32 33 34 35 | 16: 36
const std::vector<int32_t> kHandMade = {10, 11, 12, 13, 2, 20, 21, 22, 2, 1, 30, 31, 32, 33, 34, 35, 36};

TEST(PretrainData, HandMadeTokenFilePacksExactly) {
  TempDir dir;
  write_token_file(dir.file("hand.bin"), kHandMade, TokenDtype::U16);
  const auto data = open_pretrain_data(dir.file("hand.bin"), tiny_tokenizer(), in_order(5, /*doc_mask=*/true));
  ASSERT_EQ(data->rows_per_epoch(), 3);  // 17 tokens: 3 rows of 5, the last 2 dropped
  EXPECT_EQ(data->tokens_per_epoch(), 15);
  const TrainBatch batch = data->next(3);
  EXPECT_EQ(batch.layout.B, 3);
  EXPECT_EQ(batch.layout.T, 5);
  EXPECT_EQ(batch.layout.lengths, (std::vector<int64_t>{5, 5, 5}));
  const int32_t x = kIgnoreIndex;
  EXPECT_EQ(row_tokens(batch, 0), (std::vector<int32_t>{10, 11, 12, 13, 2}));
  EXPECT_EQ(row_targets(batch, 0), (std::vector<int32_t>{11, 12, 13, 2, x}));
  EXPECT_EQ(row_tokens(batch, 1), (std::vector<int32_t>{20, 21, 22, 2, 1}));
  EXPECT_EQ(row_targets(batch, 1), (std::vector<int32_t>{21, 22, 2, 1, x}));
  EXPECT_EQ(row_tokens(batch, 2), (std::vector<int32_t>{30, 31, 32, 33, 34}));
  EXPECT_EQ(row_targets(batch, 2), (std::vector<int32_t>{31, 32, 33, 34, x}));
  // Row 0: none after position 0. Row 1: BOS at 4 (right after the EOS at 3). Row 2: none (its
  // first token follows the BOS that ended row 1, position 0 is never listed).
  ASSERT_EQ(batch.doc_starts.size(), 3u);
  EXPECT_EQ(batch.doc_starts[0], std::vector<int64_t>{});
  EXPECT_EQ(batch.doc_starts[1], std::vector<int64_t>{4});
  EXPECT_EQ(batch.doc_starts[2], std::vector<int64_t>{});
  EXPECT_NE(data->describe().find("hand.bin: 17 tokens in 3 documents, 3 rows of 5"), std::string::npos)
      << data->describe();
}

TEST(PretrainData, DocumentStartsAfterEosAndAtBos) {
  TempDir dir;
  write_token_file(dir.file("hand.bin"), kHandMade, TokenDtype::U32);
  PretrainDataOptions options = in_order(8, /*doc_mask=*/true);
  options.token_dtype = TokenDtype::U32;
  const auto data = open_pretrain_data(dir.file("hand.bin"), tiny_tokenizer(), options);
  const TrainBatch batch = data->next(2);
  EXPECT_EQ(batch.doc_starts[0], (std::vector<int64_t>{5}));  // after the EOS at 4
  EXPECT_EQ(batch.doc_starts[1], (std::vector<int64_t>{1}));  // the BOS at 9 follows the EOS at 8
  // Without --doc-mask no document lists at all.
  const auto plain = open_pretrain_data(dir.file("hand.bin"), tiny_tokenizer(), in_order(8));
  EXPECT_TRUE(plain->next(2).doc_starts.empty());
}

// Odd contexts over a random token file: each row is its slice of the file and every target the
// next token of the same row.
TEST(PretrainData, RandomTokenFileRowsAreSlices) {
  TempDir dir;
  std::mt19937 rng(3);
  const std::vector<int32_t> ids = random_ids(rng, 4099, 290);
  write_token_file(dir.file("r.bin"), ids, TokenDtype::U16);
  for (int64_t context : {2, 7, 129, 1023}) {
    const auto data = open_pretrain_data(dir.file("r.bin"), tiny_tokenizer(), in_order(context));
    ASSERT_EQ(data->rows_per_epoch(), 4099 / context);
    for (int64_t row = 0; row < data->rows_per_epoch(); ++row) {
      const TrainBatch batch = data->next(1);
      for (int64_t t = 0; t < context; ++t) {
        ASSERT_EQ(batch.tokens[t], ids[row * context + t]) << context << " " << row << " " << t;
        ASSERT_EQ(batch.targets[t], t + 1 < context ? ids[row * context + t + 1] : kIgnoreIndex);
      }
    }
  }
}

TEST(PretrainData, TextFileIsOneDocumentWithBosAndEos) {
  TempDir dir;
  std::mt19937 rng(8);
  const std::string text = random_words(rng, 301);
  write_file(dir.file("story.txt"), text);
  const Tokenizer& tok = tiny_tokenizer();
  const std::vector<int32_t> expected = concat({{1}, tok.encode(text, false), {2}});
  const int64_t context = static_cast<int64_t>(expected.size()) / 3;
  const auto data = open_pretrain_data(dir.file("story.txt"), tok, in_order(context));
  ASSERT_EQ(data->rows_per_epoch(), 3);
  const TrainBatch batch = data->next(3);
  EXPECT_EQ(batch.tokens, std::vector<int32_t>(expected.begin(), expected.begin() + 3 * context));
  EXPECT_NE(data->describe().find("1 document,"), std::string::npos) << data->describe();
}

TEST(PretrainData, JsonlLinesAreDocuments) {
  TempDir dir;
  write_file(dir.file("docs.jsonl"),
             "{\"text\": \"the cat\", \"meta\": 1}\n\n{\"text\": \"a hat\"}\r\n  \n{\"text\": \"in the hen\"}\n");
  const Tokenizer& tok = tiny_tokenizer();
  const std::vector<int32_t> expected = concat({{1}, tok.encode("the cat", false), {2, 1}, tok.encode("a hat", false),
                                                {2, 1}, tok.encode("in the hen", false), {2}});
  const auto data = open_pretrain_data(dir.file("docs.jsonl"), tok, in_order(static_cast<int64_t>(expected.size())));
  ASSERT_EQ(data->rows_per_epoch(), 1);
  EXPECT_EQ(data->next(1).tokens, expected);
  EXPECT_NE(data->describe().find("3 documents"), std::string::npos) << data->describe();
}

// A directory: .txt, .jsonl and .bin files sorted by name, other files ignored; a token file is
// appended as it is.
TEST(PretrainData, DirectoryReadsItsFilesSortedByName) {
  TempDir dir;
  const std::string root = dir.file("corpus") + "/";
  std::filesystem::create_directory(root);
  write_file(root + "b.jsonl", "{\"text\": \"he\"}\n{\"text\": \"the\"}\n");
  write_file(root + "a.txt", "tin");
  write_token_file(root + "c.bin", std::vector<int32_t>{40, 41, 2, 42}, TokenDtype::U16);
  write_file(root + "notes.md", "not data");
  const Tokenizer& tok = tiny_tokenizer();
  const std::vector<int32_t> expected = concat({{1}, tok.encode("tin", false), {2, 1}, tok.encode("he", false), {2, 1},
                                                tok.encode("the", false), {2, 40, 41, 2, 42}});
  const auto data = open_pretrain_data(root, tok, in_order(static_cast<int64_t>(expected.size())));
  EXPECT_EQ(data->next(1).tokens, expected);
  EXPECT_EQ(data->describe().rfind("corpus: ", 0), 0u) << data->describe();
  EXPECT_NE(data->describe().find("in 5 documents"), std::string::npos) << data->describe();
}

TEST(PretrainData, DocumentAndTokenLimits) {
  TempDir dir;
  const std::string root = dir.file("corpus");
  std::filesystem::create_directory(root);
  write_token_file(root + "/a.bin", std::vector<int32_t>{40, 2, 41, 42, 2, 43, 2}, TokenDtype::U16);
  write_file(root + "/b.txt", "the");
  PretrainDataOptions options = in_order(2);
  options.max_documents = 2;
  auto data = open_pretrain_data(root, tiny_tokenizer(), options);
  EXPECT_EQ(data->rows_per_epoch(), 2);  // 40 2 41 42 2
  EXPECT_EQ(data->next(2).tokens, (std::vector<int32_t>{40, 2, 41, 42}));
  EXPECT_NE(data->describe().find("5 tokens in 2 documents"), std::string::npos) << data->describe();

  options.max_documents = 0;
  options.max_tokens = 6;
  data = open_pretrain_data(root, tiny_tokenizer(), options);
  EXPECT_EQ(data->rows_per_epoch(), 3);
  EXPECT_EQ(data->next(3).tokens, (std::vector<int32_t>{40, 2, 41, 42, 2, 43}));
}

// Shuffled: each epoch reads every row exactly once, in an order fixed by (seed, epoch).
TEST(PretrainData, SeededShuffleIsAPermutationPerEpoch) {
  TempDir dir;
  std::mt19937 rng(21);
  write_token_file(dir.file("r.bin"), random_ids(rng, 3 * 37 + 2, 290), TokenDtype::U16);
  PretrainDataOptions options = in_order(3);
  options.shuffle = true;
  options.seed = 1234;
  // The rows read in each of `epochs` epochs.
  auto epochs_of = [&](const PretrainDataOptions& o, int epochs) {
    const auto data = open_pretrain_data(dir.file("r.bin"), tiny_tokenizer(), o);
    std::vector<std::vector<std::vector<int32_t>>> rows(epochs);
    for (int e = 0; e < epochs; ++e)
      for (const TrainBatch& batch : one_epoch(*data, 1)) rows[e].push_back(batch.tokens);
    return rows;
  };
  const auto shuffled = epochs_of(options, 2);
  const auto unshuffled = epochs_of(in_order(3), 1);
  auto sorted = [](std::vector<std::vector<int32_t>> rows) {
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  ASSERT_EQ(unshuffled[0].size(), 37u);
  EXPECT_EQ(sorted(shuffled[0]), sorted(unshuffled[0]));
  EXPECT_EQ(sorted(shuffled[1]), sorted(unshuffled[0]));
  EXPECT_NE(shuffled[0], unshuffled[0]);
  EXPECT_NE(shuffled[0], shuffled[1]);  // reshuffled every epoch
  // Deterministic for a seed, different for another.
  EXPECT_EQ(epochs_of(options, 2), shuffled);
  options.seed = 1235;
  EXPECT_NE(epochs_of(options, 1)[0], shuffled[0]);
}

// A run interrupted after some batches and resumed from its cursor (saved as JSON text) reads
// exactly the batches the uninterrupted run reads, across epoch boundaries and batch sizes.
TEST(PretrainData, CursorRestoreContinuesWithTheSameBatches) {
  TempDir dir;
  std::mt19937 rng(4);
  write_token_file(dir.file("r.bin"), random_ids(rng, 5 * 23 + 4, 290), TokenDtype::U16);
  PretrainDataOptions options = in_order(5, /*doc_mask=*/true);
  options.shuffle = true;
  const auto reference = open_pretrain_data(dir.file("r.bin"), tiny_tokenizer(), options);
  const auto interrupted = open_pretrain_data(dir.file("r.bin"), tiny_tokenizer(), options);
  for (int i = 0; i < 9; ++i) {
    reference->next(3);
    interrupted->next(3);
  }
  const std::string saved = interrupted->cursor().dump();
  const auto resumed = open_pretrain_data(dir.file("r.bin"), tiny_tokenizer(), options);
  resumed->restore(nlohmann::json::parse(saved));
  for (int i = 0; i < 30; ++i) {
    const int64_t batch_size = 1 + i % 4;
    const TrainBatch expected = reference->next(batch_size);
    const TrainBatch got = resumed->next(batch_size);
    ASSERT_EQ(got.tokens, expected.tokens) << i;
    ASSERT_EQ(got.targets, expected.targets) << i;
    ASSERT_EQ(got.doc_starts, expected.doc_starts) << i;
  }
  EXPECT_EQ(resumed->cursor(), reference->cursor());
}

TEST(PretrainData, CursorOfOtherDataOrOptionsIsRefused) {
  TempDir dir;
  std::mt19937 rng(5);
  write_token_file(dir.file("a.bin"), random_ids(rng, 100, 290), TokenDtype::U16);
  write_token_file(dir.file("b.bin"), random_ids(rng, 100, 290), TokenDtype::U16);
  PretrainDataOptions options = in_order(7);
  const auto a = open_pretrain_data(dir.file("a.bin"), tiny_tokenizer(), options);
  a->next(2);
  const nlohmann::json cursor = a->cursor();
  const auto b = open_pretrain_data(dir.file("b.bin"), tiny_tokenizer(), options);
  EXPECT_NE(input_error_of([&] { b->restore(cursor); }).find("data cursor"), std::string::npos);
  options.context = 8;
  const auto other_context = open_pretrain_data(dir.file("a.bin"), tiny_tokenizer(), options);
  EXPECT_THROW(other_context->restore(cursor), InputError);
}

TEST(PretrainData, TooFewTokensForOneRow) {
  TempDir dir;
  write_token_file(dir.file("short.bin"), std::vector<int32_t>{5, 6, 2}, TokenDtype::U16);
  const std::string message =
      input_error_of([&] { open_pretrain_data(dir.file("short.bin"), tiny_tokenizer(), in_order(4)); });
  EXPECT_NE(message.find(dir.file("short.bin") + " has 3 tokens; one row of --context 4 needs at least 4"),
            std::string::npos)
      << message;
  EXPECT_NO_THROW(open_pretrain_data(dir.file("short.bin"), tiny_tokenizer(), in_order(3)));
  EXPECT_NE(input_error_of([&] { open_pretrain_data(dir.file("short.bin"), tiny_tokenizer(), in_order(1)); })
                .find("--context"),
            std::string::npos);
}

TEST(PretrainData, BadJsonlLinesNameFileLineAndProblem) {
  TempDir dir;
  const std::map<std::string, std::string> cases = {
      {"{\"text\": \"ok\"}\n{\"text\": \"broken\"\n", "line 2: malformed JSON"},
      {"{\"text\": \"ok\"}\n\n[\"text\"]\n", "line 3: document: expected a JSON object"},
      {"{\"body\": \"no text\"}\n", "line 1: field 'text' is missing"},
      {"{\"text\": \"ok\"}\n{\"text\": 42}\n", "line 2: field 'text': expected a string, found number"},
  };
  for (const auto& [content, expected] : cases) {
    write_file(dir.file("bad.jsonl"), content);
    const std::string message =
        input_error_of([&] { open_pretrain_data(dir.file("bad.jsonl"), tiny_tokenizer(), in_order(2)); });
    EXPECT_NE(message.find(dir.file("bad.jsonl") + ": " + expected), std::string::npos) << message;
  }
}

TEST(PretrainData, BadTokenFilesAndPaths) {
  TempDir dir;
  write_file(dir.file("odd.bin"), std::string(9, '\x03'));
  EXPECT_NE(input_error_of([&] { open_pretrain_data(dir.file("odd.bin"), tiny_tokenizer(), in_order(2)); })
                .find(dir.file("odd.bin")),
            std::string::npos);
  // The tiny vocabulary has fewer than 400 ids.
  write_token_file(dir.file("big.bin"), std::vector<int32_t>{5, 6, 7, 400}, TokenDtype::U16);
  const std::string message =
      input_error_of([&] { open_pretrain_data(dir.file("big.bin"), tiny_tokenizer(), in_order(2)); });
  EXPECT_NE(message.find("offset 3"), std::string::npos) << message;
  EXPECT_NE(message.find("400"), std::string::npos) << message;
  EXPECT_NE(input_error_of([&] { open_pretrain_data(dir.file("missing.txt"), tiny_tokenizer(), in_order(2)); })
                .find("missing.txt"),
            std::string::npos);
  std::filesystem::create_directory(dir.file("empty"));
  write_file(dir.file("empty") + "/readme.md", "x");
  EXPECT_NE(input_error_of([&] { open_pretrain_data(dir.file("empty"), tiny_tokenizer(), in_order(2)); })
                .find("no .txt, .jsonl or .bin"),
            std::string::npos);
}

// ---- With the real stories260K tokenizer and the Austen novels.

TEST(PretrainDataReal, TextAndJsonlWithStoriesTokenizer) {
  LL_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = stories_tokenizer();
  TempDir dir;
  const std::string a = "Once upon a time, there was a little girl named Lily.";
  const std::string b = "She liked to play outside in the sun.\nThe end.";
  write_file(dir.file("a.txt"), a);
  write_file(dir.file("b.jsonl"), nlohmann::json{{"text", b}}.dump() + "\n");
  const std::vector<int32_t> expected =
      concat({{tok.bos_id()}, tok.encode(a, false), {tok.eos_id(), tok.bos_id()}, tok.encode(b, false), {tok.eos_id()}});
  const auto data = open_pretrain_data(dir.path(), tok, in_order(static_cast<int64_t>(expected.size()), true));
  const TrainBatch batch = data->next(1);
  EXPECT_EQ(batch.tokens, expected);
  const int64_t second_document = static_cast<int64_t>(tok.encode(a, true, true).size());
  EXPECT_EQ(batch.doc_starts[0], std::vector<int64_t>{second_document});
}

// The six novels as text tokenize to exactly LongLoRA-style austen-all.bin, with a BOS before
// each document (the token file holds documents joined by EOS, without BOS).
TEST(PretrainDataReal, AustenTextEqualsTheReferenceTokenFile) {
  LL_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = stories_tokenizer();
  const TokenFile reference = open_token_file(shared_path("tests/austen-all.tok512.u16.bin"), TokenDtype::U16, 512);
  std::vector<int32_t> expected = {tok.bos_id()};
  for (int64_t i = 0; i < reference.size(); ++i) {
    expected.push_back(reference[i]);
    if (reference[i] == tok.eos_id() && i + 1 < reference.size()) expected.push_back(tok.bos_id());
  }
  const int64_t context = static_cast<int64_t>(expected.size());  // one row: the whole stream
  const auto data = open_pretrain_data(shared_path("austen"), tok, in_order(context));
  ASSERT_EQ(data->rows_per_epoch(), 1);
  const TrainBatch batch = data->next(1);
  ASSERT_EQ(batch.tokens.size(), expected.size());
  EXPECT_TRUE(batch.tokens == expected) << "first difference at "
                                        << (std::mismatch(batch.tokens.begin(), batch.tokens.end(), expected.begin()).first -
                                            batch.tokens.begin());
  EXPECT_NE(data->describe().find("in 6 documents"), std::string::npos) << data->describe();
}

TEST(PretrainDataReal, AustenTokenFilePacksIntoTheExpectedRows) {
  LL_REQUIRE_SHARED_DATA();
  const std::string path = shared_path("tests/austen-all.tok512.u16.bin");
  PretrainDataOptions options;
  options.context = 4096;
  options.doc_mask = true;
  const auto data = open_pretrain_data(path, stories_tokenizer(), options);
  EXPECT_EQ(data->rows_per_epoch(), 2290659 / 4096);  // 559
  EXPECT_EQ(data->tokens_per_epoch(), 559 * 4096);
  EXPECT_EQ(data->describe(), "austen-all.tok512.u16.bin: 2.29M tokens in 6 documents, 559 rows of 4096");
  // One epoch holds every row once; the rows with a document start are those that cross an EOS.
  const TokenFile tokens = open_token_file(path, TokenDtype::U16, 512);
  std::vector<int> seen(559, 0);
  int64_t starts = 0;
  for (int64_t i = 0; i < 559; ++i) {
    const TrainBatch batch = data->next(1);
    std::vector<int32_t> first(4096);
    int64_t row = -1;
    for (int64_t r = 0; r < 559 && row < 0; ++r) {
      if (tokens[r * 4096] != batch.tokens[0] || tokens[r * 4096 + 1] != batch.tokens[1]) continue;
      tokens.read(r * 4096, 4096, first.data());
      if (first == batch.tokens) row = r;
    }
    ASSERT_GE(row, 0) << "batch " << i << " is not a row of the file";
    ++seen[row];
    starts += static_cast<int64_t>(batch.doc_starts[0].size());
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 559);
  EXPECT_EQ(starts, 5);  // the 6 documents start at 0 and after each of the first 5 EOS
}

}  // namespace
}  // namespace ll::test
