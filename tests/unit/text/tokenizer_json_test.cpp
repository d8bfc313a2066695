// Reading tokenizer.json: what is read, and one clear InputError (file and field) for everything
// broken or not implemented.
#include "text/tokenizer_json.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "support/test_support.h"
#include "text/hf_tokenizer.h"
#include "tokenizer_json_data.h"

namespace ll::test {
namespace {

using json = nlohmann::json;

json small_byte_level() { return byte_level_tokenizer_json({{"H", "e"}, {"l", "l"}, {"He", "ll"}, {"Hell", "o"}}); }

// Loads `document` from a file and checks that it fails with an InputError naming the file and
// containing every part.
void expect_refused(const json& document, const std::vector<std::string>& parts) {
  TempDir dir;
  const std::string path = dir.file("tokenizer.json");
  write_file(path, document.dump());
  try {
    load_tokenizer(path);
    ADD_FAILURE() << "loaded; expected an error mentioning '" << parts.front() << "'";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << message << "\nlacks: " << part;
  }
}

TEST(TokenizerJson, ReadsTheParts) {
  const TokenizerJson spec = parse_tokenizer_json(small_byte_level().dump(), "t.json");
  EXPECT_EQ(spec.model.vocab.size(), 260u);
  EXPECT_EQ(spec.model.vocab[256], "He");
  ASSERT_EQ(spec.model.merges.size(), 4u);
  EXPECT_EQ(spec.model.merges[3], std::make_pair(std::string("Hell"), std::string("o")));
  EXPECT_TRUE(spec.model.ignore_merges);
  ASSERT_EQ(spec.pre_tokenizer.size(), 2u);
  EXPECT_EQ(spec.pre_tokenizer[0].kind, PreTokenizerStep::Kind::Split);
  EXPECT_EQ(spec.pre_tokenizer[0].pattern, SplitPattern::Llama3);
  EXPECT_EQ(spec.pre_tokenizer[1].kind, PreTokenizerStep::Kind::ByteLevel);
  EXPECT_FALSE(spec.pre_tokenizer[1].use_regex);
  ASSERT_EQ(spec.added_tokens.size(), 2u);
  EXPECT_EQ(spec.added_tokens[1].content, "<|eos|>");
  EXPECT_EQ(spec.added_tokens[1].id, 261);
  EXPECT_EQ(spec.template_prefix, std::vector<int32_t>{260});
  EXPECT_TRUE(spec.template_suffix.empty());
  ASSERT_TRUE(spec.decoder.has_value());
  EXPECT_EQ(spec.decoder->size(), 1u);

  // The older merge form "a b" reads the same.
  json legacy = small_byte_level();
  for (json& merge : legacy["model"]["merges"]) merge = merge[0].get<std::string>() + " " + merge[1].get<std::string>();
  EXPECT_EQ(parse_tokenizer_json(legacy.dump(), "t.json").model.merges, spec.model.merges);
}

TEST(TokenizerJson, BrokenOrUnsupportedPartsAreInputErrors) {
  const auto with = [](const std::function<void(json&)>& change) {
    json j = small_byte_level();
    change(j);
    return j;
  };
  expect_refused(with([](json& j) { j["model"]["type"] = "Unigram"; }), {"model.type", "\"Unigram\"", "BPE"});
  expect_refused(with([](json& j) { j.erase("model"); }), {"missing field 'model'"});
  expect_refused(with([](json& j) { j["version"] = "2.0"; }), {"version", "\"1.0\""});
  expect_refused(with([](json& j) {
                   j["normalizer"] = {{"type", "Lowercase"}};
                 }),
                 {"normalizer.type", "\"Lowercase\""});
  expect_refused(with([](json& j) {
                   j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}};
                 }),
                 {"normalizer.pattern.Regex", "regular expression"});
  expect_refused(with([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+|\\s+"; }),
                 {"pre_tokenizer.pretokenizers[0].pattern.Regex", "does not know", "\\w+|\\s+"});
  expect_refused(with([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; }),
                 {"pre_tokenizer.pretokenizers[0].behavior", "\"Isolated\""});
  expect_refused(with([](json& j) {
                   j["pre_tokenizer"] = {{"type", "Whitespace"}};
                 }),
                 {"pre_tokenizer.type", "Whitespace"});
  expect_refused(
      with([](json& j) {
        j["pre_tokenizer"] = {
            {"type", "Metaspace"}, {"replacement", "_"}, {"add_prefix_space", false}, {"prepend_scheme", "always"}};
      }),
      {"pre_tokenizer.add_prefix_space", "prepend_scheme"});
  expect_refused(with([](json& j) {
                   j["model"]["merges"][0] = json::array({"H", "Q"});
                 }),
                 {"model.merges[0]", "'HQ' is not in model.vocab"});
  expect_refused(with([](json& j) { j["model"]["merges"][1] = "l l l"; }), {"model.merges[1]", "one space"});
  expect_refused(with([](json& j) { j["model"]["merges"][1] = 7; }), {"model.merges[1]", "expected a list"});
  expect_refused(with([](json& j) { j["model"]["vocab"]["He"] = 4000; }), {"model.vocab", "'He' has id 4000"});
  expect_refused(with([](json& j) { j["model"]["vocab"]["He"] = 0; }), {"model.vocab", "two tokens"});
  expect_refused(with([](json& j) { j["model"]["dropout"] = 0.1; }), {"model.dropout", "random"});
  expect_refused(with([](json& j) { j["model"]["byte_fallback"] = "yes"; }), {"model.byte_fallback", "true or false"});
  expect_refused(with([](json& j) { j["added_tokens"][1]["id"] = 300; }),
                 {"added_tokens[1].id", "'<|eos|>' has id 300", "gives it 261"});
  expect_refused(with([](json& j) { j["added_tokens"][1]["content"] = "<|bos|>"; }),
                 {"added_tokens[1].content", "twice"});
  expect_refused(with([](json& j) { j["added_tokens"][0].erase("special"); }),
                 {"missing field 'added_tokens[0].special'"});
  expect_refused(with([](json& j) { j["decoder"] = {{"type", "WordPiece"}}; }), {"decoder.type", "WordPiece"});
  expect_refused(with([](json& j) {
                   j["decoder"] = {
                       {"type", "Sequence"},
                       {"decoders",
                        {{{"type", "Fuse"}}, {{"type", "Replace"}, {"pattern", {{"String", "a"}}}, {"content", "b"}}}}};
                 }),
                 {"decoder.decoders[1]", "Replace after Fuse"});
  expect_refused(with([](json& j) {
                   j["post_processor"] = {{"type", "RobertaProcessing"}};
                 }),
                 {"post_processor.type", "RobertaProcessing"});
  expect_refused(with([](json& j) {
                   j["post_processor"]["special_tokens"]["<|bos|>"]["ids"] = json::array({260, 261});
                 }),
                 {"post_processor", "2 tokens before the text"});
  expect_refused(with([](json& j) { j["post_processor"]["special_tokens"]["<|bos|>"]["ids"] = json::array({9999}); }),
                 {"post_processor.special_tokens.<|bos|>.ids[0]", "0..261"});
}

TEST(TokenizerJson, MalformedFilesAreInputErrors) {
  TempDir dir;
  for (const std::string& text : {std::string(""), std::string("{"), std::string("[1, 2]"),
                                  std::string("{\"model\": 3}"), small_byte_level().dump().substr(0, 500)}) {
    const std::string path = dir.file("tokenizer.json");
    write_file(path, text);
    try {
      load_tokenizer(path);
      ADD_FAILURE() << "loaded " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(TokenizerJson, EosComesFromTokenizerConfigBesideIt) {
  TempDir dir;
  write_file(dir.file("tokenizer.json"), small_byte_level().dump());
  EXPECT_EQ(load_tokenizer(dir.path())->eos_id(), -1);  // the template adds none
  write_file(dir.file("tokenizer_config.json"), R"({"eos_token": {"content": "<|eos|>", "special": true}})");
  EXPECT_EQ(load_tokenizer(dir.path())->eos_id(), 261);
  write_file(dir.file("tokenizer_config.json"), R"({"eos_token": "Hell"})");
  EXPECT_EQ(load_tokenizer(dir.path())->eos_id(), 258);
  write_file(dir.file("tokenizer_config.json"), R"({"eos_token": "</s>"})");
  try {
    load_tokenizer(dir.path());
    ADD_FAILURE() << "an eos_token outside the vocabulary was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("tokenizer_config.json") + ": eos_token: '</s>'"), std::string::npos)
        << e.what();
  }
  write_file(dir.file("tokenizer_config.json"), R"({"eos_token": 5})");
  EXPECT_THROW(load_tokenizer(dir.path()), InputError);
}

}  // namespace
}  // namespace ll::test
