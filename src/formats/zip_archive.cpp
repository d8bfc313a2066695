#include "formats/zip_archive.h"

#include <cstring>
#include <utility>

#include "core/error.h"

namespace ll {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;    // "PK\3\4"
constexpr uint32_t kCentralHeaderSig = 0x02014b50;  // "PK\1\2"
constexpr uint32_t kEocdSig = 0x06054b50;           // "PK\5\6"
constexpr uint32_t kZip64EocdSig = 0x06064b50;      // "PK\6\6"
constexpr uint32_t kZip64LocatorSig = 0x07064b50;   // "PK\6\7"
constexpr uint64_t kLocalHeaderBytes = 30;
constexpr uint64_t kCentralHeaderBytes = 46;
constexpr uint64_t kEocdBytes = 22;
constexpr uint64_t kMaxCommentBytes = 65535;
constexpr uint64_t kZip64LocatorBytes = 20;
constexpr uint64_t kZip64EocdBytes = 56;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint32_t kSaturated32 = 0xFFFFFFFF;  // "the value is in the ZIP64 extra field"
constexpr uint16_t kSaturated16 = 0xFFFF;

template <class T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::string method_name(uint16_t method) {
  switch (method) {
    case 8: return "8, deflate";
    case 9: return "9, deflate64";
    case 12: return "12, bzip2";
    case 14: return "14, lzma";
    case 93: return "93, zstd";
    case 95: return "95, xz";
    default: return std::to_string(method);
  }
}

// Where the central directory is, from the (ZIP64) end-of-central-directory records.
struct CentralDirectory {
  uint64_t entry_count = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

// The EOCD record: the last "PK\5\6" whose comment length ends exactly at the end of the file
// (a signature inside the comment does not).
uint64_t find_eocd(const uint8_t* data, uint64_t file_size, const std::string& path) {
  if (file_size < kEocdBytes)
    fail_input(path, "not a ZIP archive: " + std::to_string(file_size) +
                         " bytes, fewer than an end-of-central-directory record");
  const uint64_t last = file_size - kEocdBytes;
  const uint64_t lowest = last > kMaxCommentBytes ? last - kMaxCommentBytes : 0;
  for (uint64_t pos = last + 1; pos-- > lowest;)
    if (load_le<uint32_t>(data + pos) == kEocdSig && pos + kEocdBytes + load_le<uint16_t>(data + pos + 20) == file_size)
      return pos;
  fail_input(path, "no ZIP end-of-central-directory record at the end of the file: not a ZIP archive, or truncated");
}

CentralDirectory read_directory_location(const uint8_t* data, uint64_t file_size, const std::string& path) {
  const uint64_t eocd = find_eocd(data, file_size, path);
  const uint16_t disk = load_le<uint16_t>(data + eocd + 4);
  const uint16_t directory_disk = load_le<uint16_t>(data + eocd + 6);
  const uint16_t entries_on_disk = load_le<uint16_t>(data + eocd + 8);
  CentralDirectory dir;
  dir.entry_count = load_le<uint16_t>(data + eocd + 10);
  dir.size = load_le<uint32_t>(data + eocd + 12);
  dir.offset = load_le<uint32_t>(data + eocd + 16);
  uint64_t directory_end = eocd;  // the central directory lies before this

  const bool has_zip64 =
      eocd >= kZip64LocatorBytes && load_le<uint32_t>(data + eocd - kZip64LocatorBytes) == kZip64LocatorSig;
  if (has_zip64) {
    const uint64_t locator = eocd - kZip64LocatorBytes;
    const uint64_t record = load_le<uint64_t>(data + locator + 8);
    const uint32_t disks = load_le<uint32_t>(data + locator + 16);
    if (disks > 1) fail_expected(path, "ZIP64 locator", "a single-disk archive", std::to_string(disks) + " disks");
    if (record > locator || locator - record < kZip64EocdBytes)
      fail_expected(path, "ZIP64 locator",
                    "a ZIP64 end-of-central-directory offset at most " +
                        std::to_string(locator >= kZip64EocdBytes ? locator - kZip64EocdBytes : 0),
                    std::to_string(record));
    if (load_le<uint32_t>(data + record) != kZip64EocdSig)
      fail_input(path, "ZIP64 locator points at byte " + std::to_string(record) +
                           ", which is not a ZIP64 end-of-central-directory record");
    if (load_le<uint32_t>(data + record + 16) != 0 || load_le<uint32_t>(data + record + 20) != 0)
      fail_input(path, "multi-disk (split) ZIP archives are not supported");
    if (load_le<uint64_t>(data + record + 24) != load_le<uint64_t>(data + record + 32))
      fail_input(path, "multi-disk (split) ZIP archives are not supported");
    dir.entry_count = load_le<uint64_t>(data + record + 32);
    dir.size = load_le<uint64_t>(data + record + 40);
    dir.offset = load_le<uint64_t>(data + record + 48);
    directory_end = record;
  } else if (disk != 0 || directory_disk != 0 || entries_on_disk != dir.entry_count) {
    fail_input(path, "multi-disk (split) ZIP archives are not supported");
  }
  if (dir.offset > directory_end || dir.size > directory_end - dir.offset)
    fail_expected(path, "central directory", "to lie within the first " + std::to_string(directory_end) + " bytes",
                  "offset " + std::to_string(dir.offset) + " and size " + std::to_string(dir.size));
  if (dir.entry_count > dir.size / kCentralHeaderBytes)
    fail_expected(path, "central directory",
                  "room for its " + std::to_string(dir.entry_count) + " entries of at least 46 bytes each",
                  std::to_string(dir.size) + " bytes");
  return dir;
}

// The 64-bit values of a central header's saturated fields, from its ZIP64 extra field (id 1),
// which holds them in this order, each present only when its 32/16-bit field is saturated.
struct Zip64Fields {
  bool size = false, compressed_size = false, local_header_offset = false, disk = false;
};

void read_zip64_extra(const uint8_t* extra, uint64_t extra_len, Zip64Fields need, ZipEntry& entry,
                      const std::string& where) {
  bool found = false;
  for (uint64_t pos = 0; pos < extra_len;) {
    if (extra_len - pos < 4) fail_input(where, "extra field: truncated block header");
    const uint16_t id = load_le<uint16_t>(extra + pos);
    const uint16_t len = load_le<uint16_t>(extra + pos + 2);
    pos += 4;
    if (len > extra_len - pos)
      fail_input(where, "extra field: a block of " + std::to_string(len) + " bytes overruns it");
    if (id == kZip64ExtraId) {
      found = true;
      const uint8_t* p = extra + pos;
      uint64_t left = len;
      auto take = [&](uint64_t bytes, const char* field) {
        if (left < bytes) fail_input(where, std::string("ZIP64 extra field: too short for the ") + field);
        const uint64_t v = bytes == 8 ? load_le<uint64_t>(p) : load_le<uint32_t>(p);
        p += bytes;
        left -= bytes;
        return v;
      };
      if (need.size) entry.size = take(8, "uncompressed size");
      if (need.compressed_size) entry.compressed_size = take(8, "compressed size");
      if (need.local_header_offset) entry.local_header_offset = take(8, "local header offset");
      if (need.disk && take(4, "disk number") != 0) fail_input(where, "entry lies on another disk");
    }
    pos += len;
  }
  if (!found && (need.size || need.compressed_size || need.local_header_offset || need.disk))
    fail_input(where, "sizes or offset read 0xFFFFFFFF but there is no ZIP64 extra field");
}

}  // namespace

bool starts_like_zip(std::span<const uint8_t> bytes) {
  return bytes.size() >= 4 && load_le<uint32_t>(bytes.data()) == kLocalHeaderSig;
}

ZipArchive::ZipArchive(MappedFile file) : file_(std::move(file)) {
  const std::string& path = file_.path();
  const uint8_t* data = file_.data();
  const uint64_t file_size = file_.size();
  const CentralDirectory dir = read_directory_location(data, file_size, path);

  entries_.reserve(dir.entry_count);  // bounded above by the directory size / 46
  const uint64_t dir_end = dir.offset + dir.size;
  uint64_t pos = dir.offset;
  for (uint64_t i = 0; i < dir.entry_count; ++i) {
    const std::string where = path + ": central directory entry " + std::to_string(i);
    if (dir_end - pos < kCentralHeaderBytes) fail_input(where, "truncated: the central directory ends inside it");
    const uint8_t* h = data + pos;
    if (load_le<uint32_t>(h) != kCentralHeaderSig)
      fail_input(where, "bad signature at byte " + std::to_string(pos) + " (expected a central directory header)");
    const uint16_t flags = load_le<uint16_t>(h + 8);
    ZipEntry entry;
    entry.method = load_le<uint16_t>(h + 10);
    entry.compressed_size = load_le<uint32_t>(h + 20);
    entry.size = load_le<uint32_t>(h + 24);
    const uint64_t name_len = load_le<uint16_t>(h + 28);
    const uint64_t extra_len = load_le<uint16_t>(h + 30);
    const uint64_t comment_len = load_le<uint16_t>(h + 32);
    const uint16_t disk = load_le<uint16_t>(h + 34);
    entry.local_header_offset = load_le<uint32_t>(h + 42);
    if (dir_end - pos - kCentralHeaderBytes < name_len + extra_len + comment_len)
      fail_input(where, "truncated: its name, extra field and comment overrun the central directory");
    entry.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderBytes), name_len);
    const std::string entry_where = path + ": entry '" + entry.name + "'";

    Zip64Fields need;
    need.size = entry.size == kSaturated32;
    need.compressed_size = entry.compressed_size == kSaturated32;
    need.local_header_offset = entry.local_header_offset == kSaturated32;
    need.disk = disk == kSaturated16;
    read_zip64_extra(h + kCentralHeaderBytes + name_len, extra_len, need, entry, entry_where);
    if (!need.disk && disk != 0) fail_input(entry_where, "entry lies on another disk");
    if (flags & 1) fail_input(entry_where, "entry is encrypted");
    if (entry.method == 0 && entry.compressed_size != entry.size)
      fail_input(entry_where, "stored entry has compressed size " + std::to_string(entry.compressed_size) +
                                  " but size " + std::to_string(entry.size));

    // The local header: its own name and extra lengths fix where the data starts.
    const uint64_t local = entry.local_header_offset;
    if (local > dir.offset || dir.offset - local < kLocalHeaderBytes)
      fail_expected(entry_where, "local header offset",
                    "a header before the central directory (byte " + std::to_string(dir.offset) + ")",
                    std::to_string(local));
    const uint8_t* lh = data + local;
    if (load_le<uint32_t>(lh) != kLocalHeaderSig)
      fail_input(entry_where, "no local file header at byte " + std::to_string(local));
    const uint64_t local_name_len = load_le<uint16_t>(lh + 26);
    const uint64_t local_extra_len = load_le<uint16_t>(lh + 28);
    entry.data_offset = local + kLocalHeaderBytes + local_name_len + local_extra_len;
    if (entry.data_offset > dir.offset || entry.compressed_size > dir.offset - entry.data_offset)
      fail_input(entry_where, "its " + std::to_string(entry.compressed_size) + " bytes of data at byte " +
                                  std::to_string(entry.data_offset) + " overrun the central directory (byte " +
                                  std::to_string(dir.offset) + ")");
    if (local_name_len != name_len || std::memcmp(lh + kLocalHeaderBytes, entry.name.data(), name_len) != 0)
      fail_input(entry_where, "the local header at byte " + std::to_string(local) + " names another entry");

    if (!index_.emplace(entry.name, entries_.size()).second)
      fail_input(entry_where, "appears twice in the central directory");
    entries_.push_back(std::move(entry));
    pos += kCentralHeaderBytes + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::span<const uint8_t> ZipArchive::stored_bytes(const ZipEntry& entry) const {
  if (entry.method != 0)
    fail_input(path() + ": entry '" + entry.name + "'",
               "compressed (method " + method_name(entry.method) +
                   "); only stored (uncompressed) entries can be read, as torch.save writes them");
  return {file_.data() + entry.data_offset, entry.size};
}

}  // namespace ll
