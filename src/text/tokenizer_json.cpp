#include "text/tokenizer_json.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/json_file.h"
#include "text/utf8.h"

namespace ll {
namespace {

using json = nlohmann::json;

// A JSON value and where it is in its file ("model.merges[3]"), so that every message names both.
class Node {
 public:
  Node(const json& value, std::string path, const std::string& file)
      : value_(value), path_(std::move(path)), file_(file) {}

  const json& value() const { return value_; }
  bool is_null() const { return value_.is_null(); }
  bool has(const char* key) const { return value_.is_object() && value_.contains(key) && !value_[key].is_null(); }

  // The field `key` of this object; a missing field is an error.
  Node operator[](const char* key) const {
    if (!value_.is_object()) fail("a JSON object");
    if (!value_.contains(key)) fail_input(file_, "missing field '" + child_path(key) + "'");
    return Node(value_[key], child_path(key), file_);
  }
  std::vector<Node> items() const {
    if (!value_.is_array()) fail("a list");
    std::vector<Node> items;
    for (size_t i = 0; i < value_.size(); ++i)
      items.emplace_back(value_[i], path_ + "[" + std::to_string(i) + "]", file_);
    return items;
  }
  std::string string() const {
    if (!value_.is_string()) fail("a string");
    return value_.get<std::string>();
  }
  // A string of exactly one character.
  std::string character() const {
    const std::string s = string();
    if (s.empty() || utf8::valid_char_length(s) != s.size()) fail("one character");
    return s;
  }
  bool boolean() const {
    if (!value_.is_boolean()) fail("true or false");
    return value_.get<bool>();
  }
  // `key` when present and not null, else `fallback`.
  bool boolean_or(const char* key, bool fallback) const { return has(key) ? (*this)[key].boolean() : fallback; }
  int64_t integer(int64_t min, int64_t max) const {
    if (!value_.is_number_integer() || value_.get<int64_t>() < min || value_.get<int64_t>() > max)
      fail("an integer in " + std::to_string(min) + ".." + std::to_string(max));
    return value_.get<int64_t>();
  }
  // The "type" field of a component (normalizer, pre-tokenizer, ...).
  std::string type() const { return (*this)["type"].string(); }

  [[noreturn]] void fail(const std::string& expected) const {
    std::string found = value_.dump();
    if (found.size() > 80) found = found.substr(0, 77) + "...";
    fail_expected(file_, path_, expected, found);
  }
  [[noreturn]] void refuse(const std::string& what) const { fail_input(file_, path_ + ": " + what); }

 private:
  std::string child_path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  const json& value_;
  std::string path_;
  const std::string& file_;
};

[[noreturn]] void refuse_type(const Node& node, const std::string& component, const std::string& known) {
  node["type"].refuse(component + " type \"" + node.type() + "\" is not supported (longlora reads " + known + ")");
}

// {"String": "x"}: the literal; {"Regex": ...} is refused.
std::string literal_pattern(const Node& pattern) {
  if (pattern.has("String")) {
    std::string s = pattern["String"].string();
    if (s.empty()) pattern["String"].fail("a non-empty string");
    return s;
  }
  if (pattern.has("Regex"))
    pattern["Regex"].refuse("a regular expression here is not supported (only a literal {\"String\": ...})");
  pattern.fail("{\"String\": ...}");
}

PrependScheme prepend_scheme(const Node& node) {
  PrependScheme scheme = PrependScheme::Always;  // the library's default
  if (node.has("prepend_scheme")) {
    const std::string s = node["prepend_scheme"].string();
    if (s == "always")
      scheme = PrependScheme::Always;
    else if (s == "first")
      scheme = PrependScheme::First;
    else if (s == "never")
      scheme = PrependScheme::Never;
    else
      node["prepend_scheme"].fail("\"always\", \"first\" or \"never\"");
  }
  // The older form: add_prefix_space false means never (and must agree with prepend_scheme).
  if (node.has("add_prefix_space") && !node["add_prefix_space"].boolean()) {
    if (node.has("prepend_scheme") && scheme != PrependScheme::Never)
      node["add_prefix_space"].refuse("false, but prepend_scheme is not \"never\"");
    scheme = PrependScheme::Never;
  }
  return scheme;
}

void read_normalizer(const Node& node, std::vector<NormalizerStep>& steps) {
  if (node.is_null()) return;
  const std::string type = node.type();
  using Kind = NormalizerStep::Kind;
  if (type == "Sequence") {
    for (const Node& item : node["normalizers"].items()) read_normalizer(item, steps);
  } else if (type == "NFC") {
    steps.push_back({Kind::Nfc, "", ""});
  } else if (type == "NFD") {
    steps.push_back({Kind::Nfd, "", ""});
  } else if (type == "NFKC") {
    steps.push_back({Kind::Nfkc, "", ""});
  } else if (type == "NFKD") {
    steps.push_back({Kind::Nfkd, "", ""});
  } else if (type == "Prepend") {
    steps.push_back({Kind::Prepend, node["prepend"].string(), ""});
  } else if (type == "Replace") {
    steps.push_back({Kind::Replace, literal_pattern(node["pattern"]), node["content"].string()});
  } else {
    refuse_type(node, "normalizer", "NFC, NFD, NFKC, NFKD, Prepend, Replace and Sequence");
  }
}

void read_pre_tokenizer(const Node& node, std::vector<PreTokenizerStep>& steps) {
  if (node.is_null()) return;
  const std::string type = node.type();
  using Kind = PreTokenizerStep::Kind;
  if (type == "Sequence") {
    for (const Node& item : node["pretokenizers"].items()) read_pre_tokenizer(item, steps);
  } else if (type == "Split") {
    const Node pattern = node["pattern"];
    if (!pattern.has("Regex")) pattern.fail("{\"Regex\": ...} (a literal split pattern is not supported)");
    const std::string regex = pattern["Regex"].string();
    const auto known = recognize_split_pattern(regex);
    if (!known)
      pattern["Regex"].refuse("a split pattern longlora does not know (it knows GPT-2's, Llama 3's and Qwen2's): " +
                              regex);
    if (node["behavior"].string() != "Isolated") node["behavior"].fail("\"Isolated\"");
    if (node["invert"].boolean()) node["invert"].fail("false");
    PreTokenizerStep step{.kind = Kind::Split};
    step.pattern = *known;
    steps.push_back(step);
  } else if (type == "ByteLevel") {
    PreTokenizerStep step{.kind = Kind::ByteLevel};
    step.add_prefix_space = node["add_prefix_space"].boolean();
    step.use_regex = node.boolean_or("use_regex", true);
    steps.push_back(step);
  } else if (type == "Metaspace") {
    PreTokenizerStep step{.kind = Kind::Metaspace};
    step.replacement = node["replacement"].character();
    step.prepend_scheme = prepend_scheme(node);
    step.split = node.boolean_or("split", true);
    steps.push_back(step);
  } else {
    refuse_type(node, "pre-tokenizer", "Split, ByteLevel, Metaspace and Sequence");
  }
}

void read_decoder(const Node& node, std::vector<DecoderStep>& steps) {
  const std::string type = node.type();
  using Kind = DecoderStep::Kind;
  const bool joined = std::any_of(steps.begin(), steps.end(), [](const DecoderStep& s) {
    return s.kind == Kind::Fuse || s.kind == Kind::ByteLevel;
  });
  const auto has_kind = [&](Kind kind) {
    return std::any_of(steps.begin(), steps.end(), [&](const DecoderStep& s) { return s.kind == kind; });
  };
  if (type == "Sequence") {
    for (const Node& item : node["decoders"].items()) read_decoder(item, steps);
  } else if (type == "ByteLevel") {
    if (!steps.empty()) node.refuse("ByteLevel after other decoders is not supported");
    steps.push_back({.kind = Kind::ByteLevel});
  } else if (type == "ByteFallback") {
    if (has_kind(Kind::ByteLevel)) node.refuse("ByteLevel and ByteFallback in one decoder are not supported");
    steps.push_back({.kind = Kind::ByteFallback});
  } else if (type == "Fuse") {
    steps.push_back({.kind = Kind::Fuse});
  } else if (type == "Replace") {
    // After the tokens are joined a pattern could span two of them, and streamed text could change.
    if (joined) node.refuse("Replace after Fuse or ByteLevel is not supported");
    DecoderStep step{.kind = Kind::Replace};
    step.pattern = literal_pattern(node["pattern"]);
    step.content = node["content"].string();
    steps.push_back(step);
  } else if (type == "Strip") {
    DecoderStep step{.kind = Kind::Strip};
    step.content = node["content"].character();
    step.start = static_cast<size_t>(node["start"].integer(0, std::numeric_limits<int32_t>::max()));
    step.stop = static_cast<size_t>(node["stop"].integer(0, std::numeric_limits<int32_t>::max()));
    steps.push_back(step);
  } else if (type == "Metaspace") {
    DecoderStep step{.kind = Kind::Metaspace};
    step.pattern = node["replacement"].character();
    step.prepend_scheme = prepend_scheme(node);
    steps.push_back(step);
  } else {
    refuse_type(node, "decoder", "ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace and Sequence");
  }
}

void read_model(const Node& node, BpeSpec& model) {
  if (node.type() != "BPE")
    node["type"].refuse("model type \"" + node.type() + "\" is not supported (longlora reads BPE models)");
  if (node.has("dropout")) {
    const Node dropout = node["dropout"];
    if (!dropout.value().is_number() || dropout.value().get<double>() != 0.0)
      dropout.fail("null or 0 (BPE dropout makes tokenization random)");
  }
  const Node vocab = node["vocab"];
  if (!vocab.value().is_object()) vocab.fail("an object of token: id");
  const size_t n = vocab.value().size();
  model.vocab.assign(n, std::string());
  std::vector<bool> seen(n, false);
  for (const auto& [token, id_value] : vocab.value().items()) {
    if (!id_value.is_number_integer() || id_value.get<int64_t>() < 0 ||
        id_value.get<int64_t>() >= static_cast<int64_t>(n))
      vocab.refuse("token '" + token + "' has id " + id_value.dump() + "; the ids must be 0.." + std::to_string(n - 1) +
                   ", one per token");
    const auto id = static_cast<size_t>(id_value.get<int64_t>());
    if (seen[id])
      vocab.refuse("id " + std::to_string(id) + " is given to two tokens ('" + model.vocab[id] + "' and '" + token +
                   "')");
    seen[id] = true;
    model.vocab[id] = token;
  }
  std::unordered_map<std::string_view, int32_t> ids;
  for (size_t id = 0; id < n; ++id) ids.emplace(model.vocab[id], static_cast<int32_t>(id));

  if (node.has("unk_token")) model.unk_token = node["unk_token"].string();
  if (node.has("continuing_subword_prefix"))
    model.continuing_subword_prefix = node["continuing_subword_prefix"].string();
  if (node.has("end_of_word_suffix")) model.end_of_word_suffix = node["end_of_word_suffix"].string();
  model.fuse_unk = node.boolean_or("fuse_unk", false);
  model.byte_fallback = node.boolean_or("byte_fallback", false);
  model.ignore_merges = node.boolean_or("ignore_merges", false);

  // Merges: "a b" (the older form) or ["a", "b"]; each part and the merged token must be tokens.
  const size_t prefix_length = model.continuing_subword_prefix.size();
  for (const Node& merge : node["merges"].items()) {
    std::pair<std::string, std::string> pair;
    if (merge.value().is_string()) {
      const std::string line = merge.string();
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        merge.fail("\"first second\" (two tokens separated by one space)");
      pair = {line.substr(0, space), line.substr(space + 1)};
    } else {
      const std::vector<Node> parts = merge.items();
      if (parts.size() != 2) merge.fail("a pair of tokens");
      pair = {parts[0].string(), parts[1].string()};
    }
    if (pair.second.size() < prefix_length ||
        pair.second.compare(0, prefix_length, model.continuing_subword_prefix) != 0)
      merge.refuse("'" + pair.second + "' does not start with the continuing_subword_prefix");
    const std::string merged = pair.first + pair.second.substr(prefix_length);
    for (const std::string_view token :
         {std::string_view(pair.first), std::string_view(pair.second), std::string_view(merged)})
      if (!ids.count(token)) merge.refuse("'" + std::string(token) + "' is not in model.vocab");
    model.merges.push_back(std::move(pair));
  }
}

// tokenizers assigns an added token the id of the same token in the vocabulary, else the next
// free id after the vocabulary; the file's ids must agree.
void read_added_tokens(const Node& node, const BpeSpec& model, std::vector<AddedTokenSpec>& added) {
  std::unordered_map<std::string_view, int32_t> vocab_ids;
  for (size_t id = 0; id < model.vocab.size(); ++id) vocab_ids.emplace(model.vocab[id], static_cast<int32_t>(id));
  std::unordered_set<std::string> contents;
  auto next_id = static_cast<int32_t>(model.vocab.size());
  for (const Node& item : node.items()) {
    AddedTokenSpec token;
    token.id = static_cast<int32_t>(item["id"].integer(0, std::numeric_limits<int32_t>::max()));
    token.content = item["content"].string();
    if (token.content.empty()) item["content"].fail("a non-empty string");
    if (!contents.insert(token.content).second) item["content"].refuse("'" + token.content + "' is added twice");
    token.special = item["special"].boolean();
    token.normalized = item["normalized"].boolean();
    token.single_word = item["single_word"].boolean();
    token.lstrip = item["lstrip"].boolean();
    token.rstrip = item["rstrip"].boolean();
    const auto in_vocab = vocab_ids.find(token.content);
    const int32_t expected = in_vocab != vocab_ids.end() ? in_vocab->second : next_id++;
    if (token.id != expected)
      item["id"].refuse("'" + token.content + "' has id " + std::to_string(token.id) +
                        ", but the tokenizers library gives it " + std::to_string(expected) +
                        (in_vocab != vocab_ids.end() ? " (its id in model.vocab)"
                                                     : " (added tokens follow the vocabulary without gaps)"));
    added.push_back(std::move(token));
  }
}

// The special tokens TemplateProcessing puts before and after the single text ($A).
void read_template(const Node& node, int32_t vocab_size, TokenizerJson& tokenizer) {
  const Node special_tokens = node["special_tokens"];
  if (!special_tokens.value().is_object()) special_tokens.fail("an object");
  bool seen_text = false;
  for (const Node& piece : node["single"].items()) {
    if (piece.has("Sequence")) {
      if (piece["Sequence"]["id"].string() != "A" || seen_text) piece.fail("the text ($A) once");
      seen_text = true;
      continue;
    }
    if (!piece.has("SpecialToken")) piece.fail("{\"Sequence\": ...} or {\"SpecialToken\": ...}");
    const std::string name = piece["SpecialToken"]["id"].string();
    if (!special_tokens.has(name.c_str())) piece.refuse("special token '" + name + "' is not in special_tokens");
    for (const Node& id : special_tokens[name.c_str()]["ids"].items())
      (seen_text ? tokenizer.template_suffix : tokenizer.template_prefix)
          .push_back(static_cast<int32_t>(id.integer(0, vocab_size - 1)));
  }
  if (!seen_text) node["single"].fail("a template with the text ($A)");
}

void read_post_processor(const Node& node, int32_t vocab_size, TokenizerJson& tokenizer, bool& seen_template) {
  if (node.is_null()) return;
  const std::string type = node.type();
  if (type == "Sequence") {
    for (const Node& item : node["processors"].items()) read_post_processor(item, vocab_size, tokenizer, seen_template);
  } else if (type == "TemplateProcessing") {
    if (seen_template) node.refuse("a second TemplateProcessing is not supported");
    seen_template = true;
    read_template(node, vocab_size, tokenizer);
  } else if (type != "ByteLevel") {  // ByteLevel only trims offsets
    refuse_type(node, "post-processor", "TemplateProcessing, ByteLevel and Sequence");
  }
}

// tokenizer_config.json: its eos_token ("x", {"content": "x", ...} or null).
std::optional<std::string> read_eos_token(const std::string& path) {
  const json config = read_json_file(path);
  const Node root(config, "", path);
  if (!config.is_object()) root.fail("a JSON object");
  if (!root.has("eos_token")) return std::nullopt;
  const Node eos = root["eos_token"];
  if (eos.value().is_object()) return eos["content"].string();
  return eos.string();
}

}  // namespace

TokenizerJson parse_tokenizer_json(std::string_view text, const std::string& source) {
  const json document = parse_json(text, source);
  const Node root(document, "", source);
  if (!document.is_object()) root.fail("a JSON object");
  TokenizerJson tokenizer;
  tokenizer.source = source;
  if (root.has("version") && root["version"].string() != "1.0") root["version"].fail("\"1.0\"");
  for (const char* ignored : {"truncation", "padding"})
    if (root.has(ignored) && !root[ignored].value().is_object()) root[ignored].fail("null or an object");

  read_model(root["model"], tokenizer.model);
  if (root.has("added_tokens")) read_added_tokens(root["added_tokens"], tokenizer.model, tokenizer.added_tokens);
  const auto vocab_size = static_cast<int32_t>(
      tokenizer.model.vocab.size() +
      std::count_if(tokenizer.added_tokens.begin(), tokenizer.added_tokens.end(), [&](const AddedTokenSpec& t) {
        return t.id >= static_cast<int32_t>(tokenizer.model.vocab.size());
      }));
  if (root.has("normalizer")) read_normalizer(root["normalizer"], tokenizer.normalizer);
  if (root.has("pre_tokenizer")) read_pre_tokenizer(root["pre_tokenizer"], tokenizer.pre_tokenizer);
  bool seen_template = false;
  if (root.has("post_processor")) read_post_processor(root["post_processor"], vocab_size, tokenizer, seen_template);
  if (root.has("decoder")) {
    tokenizer.decoder.emplace();
    read_decoder(root["decoder"], *tokenizer.decoder);
  }
  return tokenizer;
}

TokenizerJson read_tokenizer_json(const std::string& path) {
  TokenizerJson tokenizer = parse_tokenizer_json(read_text_file(path), path);
  const std::filesystem::path config = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::error_code error;
  if (std::filesystem::is_regular_file(config, error)) {
    tokenizer.eos_source = config.string();
    tokenizer.eos_token = read_eos_token(tokenizer.eos_source);
  }
  return tokenizer;
}

}  // namespace ll
