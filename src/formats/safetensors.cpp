#include "formats/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "formats/json_file.h"

namespace ll {
namespace {

struct DtypeInfo {
  const char* name;
  int bits;  // per element; sub-byte floats pack several elements per byte
  bool supported;
  DType dtype;
};

// Every dtype the safetensors format defines; only the first four can be read.
constexpr DtypeInfo kDtypes[] = {
    {"F32", 32, true, DType::F32},     {"F16", 16, true, DType::F16},     {"BF16", 16, true, DType::BF16},
    {"I32", 32, true, DType::I32},     {"F64", 64, false, DType::F32},    {"I64", 64, false, DType::F32},
    {"U64", 64, false, DType::F32},    {"C64", 64, false, DType::F32},    {"U32", 32, false, DType::F32},
    {"I16", 16, false, DType::F32},    {"U16", 16, false, DType::F32},    {"I8", 8, false, DType::F32},
    {"U8", 8, false, DType::F32},      {"BOOL", 8, false, DType::F32},    {"F8_E5M2", 8, false, DType::F32},
    {"F8_E4M3", 8, false, DType::F32}, {"F8_E8M0", 8, false, DType::F32}, {"F6_E2M3", 6, false, DType::F32},
    {"F6_E3M2", 6, false, DType::F32}, {"F4", 4, false, DType::F32},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

// A non-negative JSON integer, or InputError naming `where` and `field`.
uint64_t json_uint(const nlohmann::json& v, const std::string& where, const std::string& field) {
  if (!v.is_number_unsigned()) fail_expected(where, field, "a non-negative integer", v.dump());
  return v.get<uint64_t>();
}

struct Span {
  uint64_t begin, end;
  size_t entry;
};

std::string bytes_str(uint64_t begin, uint64_t end) {
  return "bytes [" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  for (const auto& d : kDtypes)
    if (d.supported && d.dtype == dtype) return d.name;
  LL_CHECK(false);
  return nullptr;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  const size_t file_size = file_.size();
  if (file_size < 8)
    fail_expected(path, "header length", "an 8-byte little-endian length",
                  "a file of " + std::to_string(file_size) + " bytes");
  uint64_t header_len;
  std::memcpy(&header_len, file_.data(), 8);
  if (header_len > file_size - 8)
    fail_expected(path, "header length", "at most " + std::to_string(file_size - 8) + " (the bytes after it)",
                  std::to_string(header_len));
  if (header_len > kSafetensorsMaxHeaderBytes)
    fail_expected(path, "header length", "at most " + std::to_string(kSafetensorsMaxHeaderBytes),
                  std::to_string(header_len));
  const std::string_view text(reinterpret_cast<const char*>(file_.data()) + 8, header_len);
  if (text.empty() || text[0] != '{') {
    char first[8];
    std::snprintf(first, sizeof first, "0x%02x", text.empty() ? 0 : static_cast<unsigned char>(text[0]));
    fail_expected(path, "header", "a JSON object starting with '{'",
                  text.empty() ? "an empty header" : std::string("a header starting with byte ") + first);
  }
  const nlohmann::json header = parse_json(text, path + ": header");
  if (!header.is_object()) fail_expected(path, "header", "a JSON object", header.type_name());

  const uint8_t* data_section = file_.data() + 8 + header_len;
  const uint64_t data_size = file_size - 8 - header_len;
  std::vector<Span> spans;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail_expected(path, "__metadata__", "an object of strings", value.type_name());
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) fail_expected(path, "__metadata__." + mkey, "a string", mvalue.type_name());
        metadata_[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + key + "'";
    if (!value.is_object()) fail_expected(where, "entry", "an object", value.type_name());
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!value.contains(field)) fail_input(where, std::string("missing field '") + field + "'");

    TensorEntry entry;
    entry.name = key;
    const auto& dtype = value["dtype"];
    if (!dtype.is_string()) fail_expected(where, "dtype", "a string", dtype.dump());
    const DtypeInfo* info = find_dtype(dtype.get<std::string>());
    if (!info) fail_input(where, "dtype: unknown dtype " + dtype.dump());
    entry.file_dtype = info->name;
    entry.supported = info->supported;
    entry.dtype = info->dtype;

    const auto& shape = value["shape"];
    if (!shape.is_array()) fail_expected(where, "shape", "an array of integers", shape.dump());
    uint64_t bits = info->bits;  // total bits of the tensor
    for (const auto& dim : shape) {
      const uint64_t n = json_uint(dim, where, "shape");
      if (n > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bits, n, &bits))
        fail_input(where, "shape " + shape.dump() + " is too large");
      entry.shape.push_back(static_cast<int64_t>(n));
    }
    if (bits % 8 != 0)
      fail_input(where, "shape " + shape.dump() + " of dtype " + info->name + " does not fill whole bytes");

    const auto& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
      fail_expected(where, "data_offsets", "[begin, end]", offsets.dump());
    const uint64_t begin = json_uint(offsets[0], where, "data_offsets");
    const uint64_t end = json_uint(offsets[1], where, "data_offsets");
    if (begin > end || end > data_size)
      fail_expected(where, "data_offsets",
                    "0 <= begin <= end <= " + std::to_string(data_size) + " (the data section size)",
                    offsets.dump());
    if (end - begin != bits / 8)
      fail_expected(where, "data_offsets",
                    std::to_string(bits / 8) + " bytes for dtype " + info->name + " and shape " +
                        shape_string(entry.shape),
                    std::to_string(end - begin) + " bytes " + offsets.dump());
    entry.data = data_section + begin;
    entry.nbytes = end - begin;
    spans.push_back({begin, end, entries_.size()});
    entries_.push_back(std::move(entry));
  }

  // The tensors must tile the data section exactly.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Span* prev = nullptr;
  for (const Span& s : spans) {
    const std::string& name = entries_[s.entry].name;
    if (s.begin < covered)
      fail_input(path, "tensor '" + name + "' (" + bytes_str(s.begin, s.end) + ") overlaps tensor '" +
                           entries_[prev->entry].name + "' (" + bytes_str(prev->begin, prev->end) + ")");
    if (s.begin > covered)
      fail_input(path, "data section has a gap: " + bytes_str(covered, s.begin) + " before tensor '" + name +
                           "' belong to no tensor (tensors must be contiguous)");
    covered = s.end;
    prev = &s;
  }
  if (covered != data_size)
    fail_input(path, "data section has " + std::to_string(data_size - covered) +
                         " bytes after the last tensor that belong to no tensor");

  // Keep entries in file order.
  std::vector<TensorEntry> ordered;
  ordered.reserve(entries_.size());
  for (const Span& s : spans) ordered.push_back(std::move(entries_[s.entry]));
  entries_ = std::move(ordered);
  for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].name] = i;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& e : entries_) names.push_back(e.name);
  return names;
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorEntry* entry = find(name);
  if (!entry) fail_input("", "missing tensor '" + name + "' in " + path());
  if (!entry->supported)
    fail_input(path(), "tensor '" + name + "' has dtype " + entry->file_dtype +
                           "; only F32, F16, BF16 and I32 tensors can be read");
  return entry_view(*entry, path());
}

}  // namespace ll
