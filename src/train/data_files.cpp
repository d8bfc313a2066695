#include "train/data_files.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "formats/json_file.h"

namespace ll {

namespace fs = std::filesystem;

namespace {

DataFileKind kind_of(const fs::path& path) {
  const std::string extension = path.extension().string();
  if (extension == ".jsonl") return DataFileKind::Jsonl;
  if (extension == ".bin") return DataFileKind::Tokens;
  return DataFileKind::Text;
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// The "text" of one JSONL line (1-based `line_number`).
std::string jsonl_text(std::string_view line, const std::string& path, int64_t line_number) {
  const std::string where = path + ": line " + std::to_string(line_number);
  nlohmann::json object = parse_json(line, where);
  if (!object.is_object()) fail_expected(where, "document", "a JSON object with a string \"text\"", object.type_name());
  const auto text = object.find("text");
  if (text == object.end()) fail_input(where, "field 'text' is missing");
  if (!text->is_string()) fail_expected(where, "field 'text'", "a string", text->type_name());
  return text->get<std::string>();
}

}  // namespace

std::vector<DataFile> list_data_files(const std::string& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) fail_input(path, "no such file or directory");
  if (!fs::is_directory(status)) return {{path, kind_of(path)}};

  std::vector<DataFile> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
    const std::string extension = entry.path().extension().string();
    if (entry.is_regular_file() && (extension == ".txt" || extension == ".jsonl" || extension == ".bin"))
      files.push_back({entry.path().string(), kind_of(entry.path())});
  }
  if (error) fail_input(path, "cannot list the directory: " + error.message());
  if (files.empty()) fail_input(path, "the directory holds no .txt, .jsonl or .bin file");
  std::sort(files.begin(), files.end(), [](const DataFile& a, const DataFile& b) { return a.path < b.path; });
  return files;
}

TextDocuments::TextDocuments(const DataFile& file, int64_t max_documents) : file_(file.path) {
  LL_CHECK(file.kind != DataFileKind::Tokens);
  if (file.kind == DataFileKind::Text) {
    whole_file_ = true;
    return;
  }
  const std::string_view content(reinterpret_cast<const char*>(file_.data()), file_.size());
  int64_t line_number = 0;
  for (size_t begin = 0; begin < content.size();) {
    if (max_documents > 0 && static_cast<int64_t>(jsonl_texts_.size()) == max_documents) break;
    size_t end = content.find('\n', begin);
    if (end == std::string_view::npos) end = content.size();
    const std::string_view line = content.substr(begin, end - begin);
    ++line_number;
    if (!is_blank(line)) jsonl_texts_.push_back(jsonl_text(line, file.path, line_number));
    begin = end + 1;
  }
}

std::vector<std::string_view> TextDocuments::texts() const {
  if (whole_file_) return {std::string_view(reinterpret_cast<const char*>(file_.data()), file_.size())};
  return {jsonl_texts_.begin(), jsonl_texts_.end()};
}

int64_t TextDocuments::size() const { return whole_file_ ? 1 : static_cast<int64_t>(jsonl_texts_.size()); }

}  // namespace ll
