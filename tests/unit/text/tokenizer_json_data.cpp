#include "tokenizer_json_data.h"

#include <algorithm>
#include <unordered_map>

#include "text/byte_level.h"
#include "text/split_patterns.h"

namespace ll::test {

using json = nlohmann::json;

std::string byte_level_spelling(const std::string& bytes) {
  std::string spelled;
  byte_level::append_encoded(spelled, bytes);
  return spelled;
}

namespace {

json added_token(int id, const std::string& content) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

json bos_template(const std::string& bos, int id) {
  return {{"type", "TemplateProcessing"},
          {"single", json::array({{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
          {"pair",
           json::array({{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
          {"special_tokens", {{bos, {{"id", bos}, {"ids", {id}}, {"tokens", {bos}}}}}}};
}

}  // namespace

json byte_level_tokenizer_json(const std::vector<std::pair<std::string, std::string>>& merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_spelling(std::string(1, static_cast<char>(b)))] = b;
  json merge_list = json::array();
  for (const auto& [left, right] : merges) {
    vocab[byte_level_spelling(left + right)] = static_cast<int>(vocab.size());
    merge_list.push_back({byte_level_spelling(left), byte_level_spelling(right)});
  }
  const int n = static_cast<int>(vocab.size());
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", {added_token(n, "<|bos|>"), added_token(n + 1, "<|eos|>")}},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"},
               {"pattern", {{"Regex", split_pattern_regex(SplitPattern::Llama3)}}},
               {"behavior", "Isolated"},
               {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
          {"post_processor", bos_template("<|bos|>", n)},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", true},
            {"vocab", vocab},
            {"merges", merge_list}}}};
}

json sentencepiece_style_tokenizer_json(const Vocab& v) {
  json vocab = json::object();
  std::unordered_map<std::string, int> ids;
  for (int id = 0; id < v.size(); ++id) {
    vocab[v.pieces[id]] = id;
    ids.emplace(v.pieces[id], id);
  }
  // Every split of every piece into two pieces, ordered by the piece's score (highest first),
  // splits of one piece by the ids of their parts.
  struct Merge {
    std::string left, right;
    float score;
    int left_id, right_id;
  };
  std::vector<Merge> merges;
  for (int id = 0; id < v.size(); ++id) {
    const std::string& piece = v.pieces[id];
    std::vector<Merge> local;
    for (size_t cut = 1; cut < piece.size(); ++cut) {
      const auto left = ids.find(piece.substr(0, cut)), right = ids.find(piece.substr(cut));
      if (left != ids.end() && right != ids.end())
        local.push_back({left->first, right->first, v.scores[id], left->second, right->second});
    }
    std::sort(local.begin(), local.end(), [](const Merge& a, const Merge& b) {
      return std::pair(a.left_id, a.right_id) < std::pair(b.left_id, b.right_id);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  json merge_list = json::array();
  for (const Merge& m : merges) merge_list.push_back({m.left, m.right});

  json added = json::array();
  for (int id = 0; id < v.size(); ++id)
    if (v.type(id) == TokenType::Control || v.type(id) == TokenType::Unknown)
      added.push_back(added_token(id, v.pieces[id]));
  const std::string space = std::string(kSpaceSymbol);
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer",
           {{"type", "Sequence"},
            {"normalizers",
             {{{"type", "Prepend"}, {"prepend", space}},
              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space}}}}}},
          {"pre_tokenizer", nullptr},
          {"post_processor", bos_template(v.pieces[v.bos], v.bos)},
          {"decoder",
           {{"type", "Sequence"},
            {"decoders",
             {{{"type", "Replace"}, {"pattern", {{"String", space}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}},
              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", v.pieces[v.unk]},
            {"fuse_unk", true},
            {"byte_fallback", true},
            {"vocab", vocab},
            {"merges", merge_list}}}};
}

}  // namespace ll::test
