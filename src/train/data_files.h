// The files of a `--data` path and the text documents inside them.
//
//   .txt (or any unrecognised extension)  one document: the whole file
//   .jsonl                                one document per line: an object with a string "text"
//                                         (blank lines are skipped)
//   .bin                                  a token file (formats/token_file.h), used as it is
//   a directory                           its .txt, .jsonl and .bin files (not recursive), sorted by name
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"

namespace ll {

enum class DataFileKind : uint8_t { Text, Jsonl, Tokens };

struct DataFile {
  std::string path;
  DataFileKind kind = DataFileKind::Text;
};

// The files of `path` in reading order. InputError naming the path when it does not exist or is a
// directory without any .txt, .jsonl or .bin file.
std::vector<DataFile> list_data_files(const std::string& path);

// The documents of a text or JSONL file, at most max_documents of them (0 = all).
class TextDocuments {
 public:
  // InputError naming the file (and for JSONL the 1-based line number and the problem) when a
  // line is not an object with a string "text" field, or the file cannot be read.
  TextDocuments(const DataFile& file, int64_t max_documents);

  // Views into the mapped file (text) or the parsed strings (JSONL), valid while this lives.
  std::vector<std::string_view> texts() const;
  int64_t size() const;

 private:
  MappedFile file_;
  bool whole_file_ = false;              // text: the mapped file is the one document
  std::vector<std::string> jsonl_texts_;  // JSONL: the "text" of each line
};

}  // namespace ll
