#include "formats/gguf.h"

#include <cstring>
#include <limits>

#include "core/error.h"

namespace ll {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxArrayNesting = 8;
constexpr uint32_t kMaxDimsGguf = 4;
// Smallest encodings, for bounding counts by the bytes left: a metadata entry (empty key, type,
// one-byte value), a tensor info (empty name, n_dims, one dim, type, offset), an array header.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
constexpr uint64_t kArrayHeaderBytes = 4 + 8;

// Bounds-checked little-endian reads from the mapped file. `context_` says what is being read
// ("metadata key 'x'", "tensor info #3") for the error messages.
class Reader {
 public:
  explicit Reader(const MappedFile& file) : file_(file) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return file_.size() - pos_; }
  void set_context(std::string context) { context_ = std::move(context); }

  [[noreturn]] void fail(const std::string& what) const { fail_input(file_.path(), context_ + ": " + what); }

  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      fail(std::string(what) + ": needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
           ", but the file ends at " + std::to_string(file_.size()));
  }

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, file_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  const uint8_t* skip(uint64_t n, const char* what) {
    need(n, what);
    const uint8_t* p = file_.data() + pos_;
    pos_ += n;
    return p;
  }

  std::string_view read_string(const char* what) {
    const uint64_t n = read<uint64_t>(what);
    if (n > remaining())
      fail(std::string(what) + ": string length " + std::to_string(n) + " exceeds the " +
           std::to_string(remaining()) + " bytes left in the file");
    return {reinterpret_cast<const char*>(skip(n, what)), n};
  }

  GgufType read_type(const char* what) {
    const uint32_t t = read<uint32_t>(what);
    if (t >= kGgufTypeCount) fail(std::string(what) + ": unknown value type " + std::to_string(t));
    return static_cast<GgufType>(t);
  }

  // A count of items taking at least `min_item_bytes` each; refused when they cannot fit.
  uint64_t read_count(const char* what, uint64_t min_item_bytes) {
    const uint64_t n = read<uint64_t>(what);
    if (n > remaining() / min_item_bytes)
      fail(std::string(what) + " " + std::to_string(n) + " is impossible: " + std::to_string(n) +
           " items cannot fit in the " + std::to_string(remaining()) + " bytes left in the file");
    return n;
  }

  GgufValue read_value(GgufType type, int depth) {
    GgufValue v;
    v.type = type;
    if (type == GgufType::STRING) {
      v.str = read_string("string value");
    } else if (type == GgufType::ARRAY) {
      if (depth >= kMaxArrayNesting) fail("arrays nested deeper than " + std::to_string(kMaxArrayNesting));
      v.elem_type = read_type("array element type");
      const size_t scalar = gguf_scalar_size(v.elem_type);
      const uint64_t min_item = scalar ? scalar : v.elem_type == GgufType::STRING ? 8 : kArrayHeaderBytes;
      v.count = read_count("array length", min_item);
      if (scalar) {
        v.elems = skip(v.count * scalar, "array elements");
      } else if (v.elem_type == GgufType::STRING) {
        for (uint64_t i = 0; i < v.count; ++i) v.strings.push_back(read_string("array string"));
      } else {
        for (uint64_t i = 0; i < v.count; ++i) v.arrays.push_back(read_value(GgufType::ARRAY, depth + 1));
      }
    } else {
      const size_t n = gguf_scalar_size(type);
      std::memcpy(&v.scalar_bits, skip(n, "value"), n);
    }
    return v;
  }

 private:
  const MappedFile& file_;
  size_t pos_ = 0;
  std::string context_ = "header";
};

// The integer a value of integer type `type` holds in its little-endian `bits`.
__int128 decode_integer(GgufType type, uint64_t bits) {
  switch (type) {
    case GgufType::U8: return static_cast<uint8_t>(bits);
    case GgufType::I8: return static_cast<int8_t>(static_cast<uint8_t>(bits));
    case GgufType::U16: return static_cast<uint16_t>(bits);
    case GgufType::I16: return static_cast<int16_t>(static_cast<uint16_t>(bits));
    case GgufType::U32: return static_cast<uint32_t>(bits);
    case GgufType::I32: return static_cast<int32_t>(static_cast<uint32_t>(bits));
    case GgufType::U64: return bits;
    case GgufType::I64: return static_cast<int64_t>(bits);
    default: LL_CHECK(false);
  }
  return 0;
}

double decode_float(GgufType type, uint64_t bits) {
  if (type == GgufType::F32) {
    float f;
    const uint32_t b = static_cast<uint32_t>(bits);
    std::memcpy(&f, &b, 4);
    return f;
  }
  LL_CHECK(type == GgufType::F64);
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

// Four header bytes for a message: as text when printable, else as hex.
std::string magic_str(const uint8_t* p) {
  std::string text = "\"", hex = "0x";
  bool printable = true;
  for (int i = 0; i < 4; ++i) {
    printable &= p[i] >= 0x20 && p[i] < 0x7f;
    text += static_cast<char>(p[i]);
    const char* digits = "0123456789abcdef";
    hex += digits[p[i] >> 4];
    hex += digits[p[i] & 15];
  }
  return printable ? text + "\"" : hex;
}

std::string int128_str(__int128 v) {
  return v < 0 ? std::to_string(static_cast<int64_t>(v)) : std::to_string(static_cast<uint64_t>(v));
}

uint64_t array_elem_bits(const GgufValue& v, uint64_t i) {
  uint64_t bits = 0;
  const size_t n = gguf_scalar_size(v.elem_type);
  std::memcpy(&bits, v.elems + i * n, n);
  return bits;
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : file_(path) {
  Reader r(file_);
  if (file_.size() < 4 || r.read<uint32_t>("magic") != kGgufMagic)
    fail_expected(
        path, "magic", "\"GGUF\"",
        file_.size() < 4 ? "a file of " + std::to_string(file_.size()) + " bytes" : magic_str(file_.data()));
  version_ = r.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3)
    fail_expected(path, "version", "2 or 3", std::to_string(version_) + " (unsupported GGUF version)");
  const uint64_t tensor_count = r.read<uint64_t>("tensor count");
  const uint64_t kv_count = r.read_count("metadata count", kMinKvBytes);

  for (uint64_t i = 0; i < kv_count; ++i) {
    r.set_context("metadata entry #" + std::to_string(i));
    std::string key(r.read_string("key"));
    r.set_context("metadata key '" + key + "'");
    const GgufType type = r.read_type("value type");
    GgufValue value = r.read_value(type, 0);
    if (!metadata_index_.emplace(key, metadata_.size()).second) r.fail("duplicate key");
    metadata_.emplace_back(std::move(key), std::move(value));
  }
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufType::U32) fail_key("general.alignment", "u32", gguf_type_name(a->type));
    alignment_ = static_cast<uint32_t>(a->scalar_bits);
    if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0)
      fail_key("general.alignment", "a power of two", std::to_string(alignment_));
  }

  r.set_context("tensor table");
  if (tensor_count > r.remaining() / kMinTensorInfoBytes)
    r.fail("tensor count " + std::to_string(tensor_count) +
           " is impossible: that many tensor infos cannot fit in the " + std::to_string(r.remaining()) +
           " bytes left in the file");
  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    r.set_context("tensor info #" + std::to_string(i));
    TensorEntry t;
    t.name = std::string(r.read_string("name"));
    r.set_context("tensor '" + t.name + "'");
    const uint32_t n_dims = r.read<uint32_t>("n_dims");
    if (n_dims == 0 || n_dims > kMaxDimsGguf)
      r.fail("n_dims: expected 1 to " + std::to_string(kMaxDimsGguf) + ", found " + std::to_string(n_dims));
    uint64_t ne[kMaxDimsGguf];
    for (uint32_t d = 0; d < n_dims; ++d) {
      ne[d] = r.read<uint64_t>("ne");
      if (ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        r.fail("ne[" + std::to_string(d) + "] = " + std::to_string(ne[d]) + " is too large");
    }
    for (uint32_t d = n_dims; d-- > 0;) t.shape.push_back(static_cast<int64_t>(ne[d]));
    const uint32_t type = r.read<uint32_t>("type");
    const GgmlTypeInfo* info = ggml_type_info(type);
    if (!info) r.fail("unknown ggml type " + std::to_string(type));
    t.file_dtype = info->name;
    t.supported = type == kGgmlF32 || type == kGgmlF16 || type == kGgmlBF16;
    t.dtype = type == kGgmlF16 ? DType::F16 : type == kGgmlBF16 ? DType::BF16 : DType::F32;
    if (ne[0] % info->block_size != 0)
      r.fail("ne[0] = " + std::to_string(ne[0]) + " is not a multiple of the " + info->name + " block size " +
             std::to_string(info->block_size));
    uint64_t nbytes = ne[0] / info->block_size * info->type_size;
    bool overflow = false;
    for (uint32_t d = 1; d < n_dims; ++d) overflow |= __builtin_mul_overflow(nbytes, ne[d], &nbytes);
    if (overflow || nbytes > file_.size())
      r.fail("shape " + shape_string(t.shape) + " is larger than the file");
    // A zero innermost dimension makes the byte count 0 whatever the others are.
    if (!element_count_fits(t.shape)) r.fail("shape " + shape_string(t.shape) + " has too many elements");
    t.nbytes = nbytes;
    offsets.push_back(r.read<uint64_t>("offset"));
    if (offsets.back() % alignment_ != 0)
      r.fail("offset " + std::to_string(offsets.back()) + " is not a multiple of the alignment " +
             std::to_string(alignment_));
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) r.fail("duplicate tensor name");
    tensors_.push_back(std::move(t));
  }

  const uint64_t data_start = (r.pos() + alignment_ - 1) / alignment_ * alignment_;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    TensorEntry& t = tensors_[i];
    const uint64_t available = data_start <= file_.size() ? file_.size() - data_start : 0;
    if (offsets[i] > available || t.nbytes > available - offsets[i])
      fail_input(path, "tensor '" + t.name + "': data [" + std::to_string(data_start + offsets[i]) + ", " +
                           std::to_string(data_start + offsets[i] + t.nbytes) +
                           ") extends past the end of the file (" + std::to_string(file_.size()) + " bytes)");
    t.data = file_.data() + data_start + offsets[i];
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  const auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

std::vector<std::string> GgufFile::keys() const {
  std::vector<std::string> keys;
  keys.reserve(metadata_.size());
  for (const auto& kv : metadata_) keys.push_back(kv.first);
  return keys;
}

void GgufFile::fail_key(const std::string& key, const std::string& expected, const std::string& found) const {
  fail_expected(path(), "metadata key '" + key + "'", expected, found);
}

const GgufValue& GgufFile::require(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail_input(path(), "missing metadata key '" + key + "'");
  return *v;
}

const GgufValue& GgufFile::require_type(const std::string& key, GgufType type) const {
  const GgufValue& v = require(key);
  if (v.type != type) fail_key(key, gguf_type_name(type), gguf_type_name(v.type));
  return v;
}

std::string GgufFile::get_string(const std::string& key) const {
  return std::string(require_type(key, GgufType::STRING).str);
}

std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

uint32_t GgufFile::get_u32(const std::string& key) const {
  const GgufValue& v = require(key);
  if (!gguf_is_integer(v.type)) fail_key(key, "an integer (u32)", gguf_type_name(v.type));
  const __int128 n = decode_integer(v.type, v.scalar_bits);
  if (n < 0 || n > std::numeric_limits<uint32_t>::max())
    fail_key(key, "a u32 value", std::string(gguf_type_name(v.type)) + " " + int128_str(n));
  return static_cast<uint32_t>(n);
}

uint32_t GgufFile::get_u32(const std::string& key, uint32_t fallback) const {
  return has(key) ? get_u32(key) : fallback;
}

int64_t GgufFile::get_i64(const std::string& key) const {
  const GgufValue& v = require(key);
  if (!gguf_is_integer(v.type)) fail_key(key, "an integer (i64)", gguf_type_name(v.type));
  const __int128 n = decode_integer(v.type, v.scalar_bits);
  if (n > std::numeric_limits<int64_t>::max())
    fail_key(key, "an i64 value", std::string(gguf_type_name(v.type)) + " " + int128_str(n));
  return static_cast<int64_t>(n);
}

int64_t GgufFile::get_i64(const std::string& key, int64_t fallback) const {
  return has(key) ? get_i64(key) : fallback;
}

float GgufFile::get_f32(const std::string& key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::F32 && v.type != GgufType::F64) fail_key(key, "f32", gguf_type_name(v.type));
  return static_cast<float>(decode_float(v.type, v.scalar_bits));
}

float GgufFile::get_f32(const std::string& key, float fallback) const {
  return has(key) ? get_f32(key) : fallback;
}

bool GgufFile::get_bool(const std::string& key) const {
  return require_type(key, GgufType::BOOL).scalar_bits != 0;
}

bool GgufFile::get_bool(const std::string& key, bool fallback) const {
  return has(key) ? get_bool(key) : fallback;
}

uint64_t GgufFile::array_length(const std::string& key) const {
  return require_type(key, GgufType::ARRAY).count;
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue& v = require_type(key, GgufType::ARRAY);
  if (v.elem_type != GgufType::STRING)
    fail_key(key, "an array of strings", std::string("an array of ") + gguf_type_name(v.elem_type));
  return {v.strings.begin(), v.strings.end()};
}

std::vector<float> GgufFile::get_f32_array(const std::string& key) const {
  const GgufValue& v = require_type(key, GgufType::ARRAY);
  if (v.elem_type != GgufType::F32 && v.elem_type != GgufType::F64)
    fail_key(key, "an array of f32", std::string("an array of ") + gguf_type_name(v.elem_type));
  std::vector<float> out(v.count);
  for (uint64_t i = 0; i < v.count; ++i)
    out[i] = static_cast<float>(decode_float(v.elem_type, array_elem_bits(v, i)));
  return out;
}

std::vector<int32_t> GgufFile::get_i32_array(const std::string& key) const {
  const GgufValue& v = require_type(key, GgufType::ARRAY);
  if (!gguf_is_integer(v.elem_type))
    fail_key(key, "an array of integers (i32)", std::string("an array of ") + gguf_type_name(v.elem_type));
  std::vector<int32_t> out(v.count);
  for (uint64_t i = 0; i < v.count; ++i) {
    const __int128 n = decode_integer(v.elem_type, array_elem_bits(v, i));
    if (n < std::numeric_limits<int32_t>::min() || n > std::numeric_limits<int32_t>::max())
      fail_key(key, "i32 elements", "element " + std::to_string(i) + " = " + int128_str(n));
    out[i] = static_cast<int32_t>(n);
  }
  return out;
}

std::vector<std::string> GgufFile::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& t : tensors_) names.push_back(t.name);
  return names;
}

const TensorEntry* GgufFile::find_tensor(const std::string& name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Tensor GgufFile::tensor(const std::string& name) const {
  const TensorEntry* t = find_tensor(name);
  if (!t) fail_input("", "missing tensor '" + name + "' in " + path());
  if (!t->supported)
    fail_input(path(), "tensor '" + name + "' has type " + t->file_dtype +
                           "; only f32/f16/bf16 GGUF files are supported");
  return entry_view(*t, path());
}

}  // namespace ll
