#include "formats/zip_writer.h"

#include <array>

namespace ll {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;    // "PK\3\4"
constexpr uint32_t kCentralHeaderSig = 0x02014b50;  // "PK\1\2"
constexpr uint32_t kEocdSig = 0x06054b50;           // "PK\5\6"
constexpr uint32_t kZip64EocdSig = 0x06064b50;      // "PK\6\6"
constexpr uint32_t kZip64LocatorSig = 0x07064b50;   // "PK\6\7"
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kPaddingExtraId = 0x4246;  // "FB", PyTorch's alignment padding
constexpr uint64_t kAlignment = 64;
constexpr uint64_t kLocalHeaderBytes = 30;
constexpr uint16_t kVersion = 20, kVersionZip64 = 45;  // "needed to extract": 2.0, 4.5 with ZIP64
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, the earliest DOS date
constexpr uint32_t kSaturated32 = 0xFFFFFFFF;
constexpr uint16_t kSaturated16 = 0xFFFF;

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

// Little-endian record fields, appended in order.
class Record {
 public:
  Record& u16(uint64_t v) { return put(v, 2); }
  Record& u32(uint64_t v) { return put(v, 4); }
  Record& u64(uint64_t v) { return put(v, 8); }
  Record& bytes(const std::string& s) {
    data_.insert(data_.end(), s.begin(), s.end());
    return *this;
  }
  Record& zeros(uint64_t n) {
    data_.insert(data_.end(), n, 0);
    return *this;
  }
  uint64_t size() const { return data_.size(); }
  void write_to(AtomicFileWriter& out) const { out.write(data_.data(), data_.size()); }

 private:
  Record& put(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) data_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<uint8_t> data_;
};

}  // namespace

uint32_t crc32(const void* data, uint64_t size, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (uint64_t i = 0; i < size; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

ZipWriter::ZipWriter(const std::string& path, uint64_t zip64_from) : out_(path), zip64_from_(zip64_from) {}

void ZipWriter::add(const std::string& name, const void* data, uint64_t size) {
  Entry e{name, crc32(data, size), size, out_.bytes_written()};
  const bool zip64 = size >= zip64_from_;
  // Local header: a ZIP64 extra field holds both sizes when they do not fit.
  Record extra;
  if (zip64) extra.u16(kZip64ExtraId).u16(16).u64(size).u64(size);
  const uint64_t header_end = e.local_header_offset + kLocalHeaderBytes + name.size() + extra.size();
  uint64_t pad = (kAlignment - header_end % kAlignment) % kAlignment;
  if (pad != 0 && pad < 4) pad += kAlignment;  // room for the padding field's own 4-byte header
  if (pad != 0) extra.u16(kPaddingExtraId).u16(pad - 4).zeros(pad - 4);
  Record local;
  local.u32(kLocalHeaderSig)
      .u16(zip64 ? kVersionZip64 : kVersion)
      .u16(0)  // flags
      .u16(0)  // method: stored
      .u16(0)  // time
      .u16(kDosDate)
      .u32(e.crc)
      .u32(zip64 ? kSaturated32 : size)
      .u32(zip64 ? kSaturated32 : size)
      .u16(name.size())
      .u16(extra.size())
      .bytes(name);
  local.write_to(out_);
  extra.write_to(out_);
  out_.write(data, size);
  entries_.push_back(std::move(e));
}

// Central header: each field that does not fit is saturated and found in the ZIP64 extra field,
// in the order uncompressed size, compressed size, local header offset.
void ZipWriter::write_central_header(const Entry& e) {
  const bool big_size = e.size >= zip64_from_, big_offset = e.local_header_offset >= zip64_from_;
  Record extra;
  if (big_size || big_offset) {
    extra.u16(kZip64ExtraId).u16((big_size ? 16 : 0) + (big_offset ? 8 : 0));
    if (big_size) extra.u64(e.size).u64(e.size);
    if (big_offset) extra.u64(e.local_header_offset);
  }
  const uint16_t version = big_size || big_offset ? kVersionZip64 : kVersion;
  Record central;
  central.u32(kCentralHeaderSig)
      .u16(version)  // made by (MS-DOS attributes)
      .u16(version)  // needed to extract
      .u16(0)        // flags
      .u16(0)        // method: stored
      .u16(0)        // time
      .u16(kDosDate)
      .u32(e.crc)
      .u32(big_size ? kSaturated32 : e.size)
      .u32(big_size ? kSaturated32 : e.size)
      .u16(e.name.size())
      .u16(extra.size())
      .u16(0)  // comment length
      .u16(0)  // disk
      .u16(0)  // internal attributes
      .u32(0)  // external attributes
      .u32(big_offset ? kSaturated32 : e.local_header_offset)
      .bytes(e.name);
  central.write_to(out_);
  extra.write_to(out_);
}

void ZipWriter::finish() {
  const uint64_t directory_offset = out_.bytes_written();
  for (const Entry& e : entries_) write_central_header(e);
  const uint64_t directory_size = out_.bytes_written() - directory_offset;
  const uint64_t count = entries_.size();
  const bool zip64 = directory_offset >= zip64_from_ || directory_size >= zip64_from_ || count >= kSaturated16;
  if (zip64) {
    const uint64_t record_offset = out_.bytes_written();
    Record end64;
    end64.u32(kZip64EocdSig)
        .u64(44)  // size of the rest of this record
        .u16(kVersionZip64)
        .u16(kVersionZip64)
        .u32(0)  // this disk
        .u32(0)  // disk of the central directory
        .u64(count)
        .u64(count)
        .u64(directory_size)
        .u64(directory_offset);
    end64.u32(kZip64LocatorSig).u32(0).u64(record_offset).u32(1);
    end64.write_to(out_);
  }
  Record end;
  end.u32(kEocdSig)
      .u16(0)  // this disk
      .u16(0)  // disk of the central directory
      .u16(zip64 ? kSaturated16 : count)
      .u16(zip64 ? kSaturated16 : count)
      .u32(zip64 ? kSaturated32 : directory_size)
      .u32(zip64 ? kSaturated32 : directory_offset)
      .u16(0);  // comment length
  end.write_to(out_);
  out_.commit();
}

}  // namespace ll
