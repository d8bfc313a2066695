// ZIP archive reader over a memory mapping: the directory of entries and the bytes of "stored"
// (uncompressed) entries, used in place. Enough for torch.save archives; nothing is inflated.
//
// Layout read here, from the end of the file backwards:
//   end-of-central-directory record (EOCD, 22 bytes + a comment of up to 65535 bytes), preceded
//   by an optional ZIP64 locator (20 bytes) that points at a ZIP64 EOCD record (56+ bytes) with
//   64-bit counts and offsets; the central directory (one 46-byte header + name + extra + comment
//   per entry, 64-bit sizes/offsets in a ZIP64 extra field where the 32-bit ones read 0xFFFFFFFF);
//   and for each entry a 30-byte local header + name + extra, then its data.
// Every offset and size is checked against the file before it is used, and the entry list only
// grows as entries are actually parsed, so memory stays proportional to the file whatever the
// records claim. Multi-disk archives and encrypted entries are refused; CRCs are not checked.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/mapped_file.h"

namespace ll {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 = stored; anything else (8 = deflate, ...) cannot be read
  uint64_t compressed_size = 0;
  uint64_t size = 0;  // uncompressed
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  // first byte of the entry's (compressed) data in the file
};

class ZipArchive {
 public:
  // Reads the directory of a mapped file (kept by the archive); malformed input throws
  // InputError naming the path and the record or entry at fault.
  explicit ZipArchive(MappedFile file);
  explicit ZipArchive(const std::string& path) : ZipArchive(MappedFile(path)) {}

  const std::string& path() const { return file_.path(); }
  size_t file_size() const { return file_.size(); }
  const std::vector<ZipEntry>& entries() const { return entries_; }  // in directory order
  const ZipEntry* find(const std::string& name) const;               // nullptr when absent
  // The bytes of a stored entry, in place (valid while the archive lives). InputError naming the
  // entry when it is compressed.
  std::span<const uint8_t> stored_bytes(const ZipEntry& entry) const;

 private:
  MappedFile file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// The 4 bytes every local file header starts with: "PK\3\4".
bool starts_like_zip(std::span<const uint8_t> bytes);

}  // namespace ll
