// Read-only memory mapping of a whole file. Weights are used in place, never copied.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace ll {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws InputError naming the path
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Writes a file so that it appears complete or not at all: data goes to a temporary name in
// the same directory, commit() fsyncs and renames it into place; destroyed uncommitted, the
// temporary is removed. Errors throw InputError naming the final path.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void commit();
  size_t bytes_written() const { return written_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  size_t written_ = 0;
};

// Builds a directory through fill(partial) in a sibling ".partial-<name>" directory, then renames
// it to `dir` (replacing an earlier one), so `dir` is complete or absent, never half-written.
void write_directory_atomically(const std::string& dir, const std::function<void(const std::string&)>& fill);

// Whole-file reads and atomic whole-file writes.
std::string read_text_file(const std::string& path);
void write_file_atomic(const std::string& path, const void* data, size_t size);
void write_text_file_atomic(const std::string& path, const std::string& text);

}  // namespace ll
