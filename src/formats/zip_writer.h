// ZIP archive writer for torch.save archives (formats/torch_bin_writer.h): stored (uncompressed)
// entries, each with its CRC-32, whose data start on a 64-byte boundary as PyTorch's own writer
// places them (a zero-filled extra field with id "FB" pads the local header).
//
// ZIP64: an entry whose size or local-header offset reaches `zip64_from` (by default 0xFFFFFFFF,
// where the 32-bit fields run out) gets ZIP64 extra fields in its local and central headers, and
// the archive ends with a ZIP64 end-of-central-directory record and locator when the central
// directory's offset or size reaches it (or there are 0xFFFF entries or more). Tests lower
// `zip64_from` to write every ZIP64 record into a small file.
//
// The archive streams through an AtomicFileWriter: it appears at `path` complete or not at all.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace ll {

// CRC-32 (ISO 3309 / ITU-T V.42, the one ZIP uses) of `size` bytes, continuing from `crc` (0 to start).
uint32_t crc32(const void* data, uint64_t size, uint32_t crc = 0);

class ZipWriter {
 public:
  static constexpr uint64_t kZip64Limit = 0xFFFFFFFF;

  explicit ZipWriter(const std::string& path, uint64_t zip64_from = kZip64Limit);

  // Appends a stored entry holding `size` bytes of `data` (names distinct; not checked).
  void add(const std::string& name, const void* data, uint64_t size);
  // Writes the central directory and end records, then renames the archive into place.
  void finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc = 0;
    uint64_t size = 0;
    uint64_t local_header_offset = 0;
  };
  void write_central_header(const Entry& e);

  AtomicFileWriter out_;
  uint64_t zip64_from_;
  std::vector<Entry> entries_;
};

}  // namespace ll
