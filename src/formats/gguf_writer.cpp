#include "formats/gguf_writer.h"

#include "core/error.h"
#include "core/mapped_file.h"

namespace ll {
namespace {

constexpr uint32_t kVersion = 3;

uint32_t ggml_type_of(DType dtype) {
  switch (dtype) {
    case DType::F32: return kGgmlF32;
    case DType::F16: return kGgmlF16;
    case DType::BF16: return kGgmlBF16;
    default: LL_CHECK(false);
  }
  return 0;
}

uint64_t padded(uint64_t n) {
  return (n + GgufWriter::kAlignment - 1) / GgufWriter::kAlignment * GgufWriter::kAlignment;
}

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

}  // namespace

void GgufWriter::add_key(const std::string& key, GgufType type) {
  LL_CHECK(keys_.insert(key).second);
  append_string(key);
  put_u32(metadata_, static_cast<uint32_t>(type));
  ++metadata_count_;
}

void GgufWriter::append_string(const std::string& s) {
  put_u64(metadata_, s.size());
  metadata_ += s;
}

void GgufWriter::add_scalar(const std::string& key, GgufType type, const void* v, size_t size) {
  add_key(key, type);
  append(v, size);
}

void GgufWriter::add_bool(const std::string& key, bool v) {
  const uint8_t byte = v ? 1 : 0;
  add_scalar(key, GgufType::BOOL, &byte, 1);
}

void GgufWriter::add_string(const std::string& key, const std::string& v) {
  add_key(key, GgufType::STRING);
  append_string(v);
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& v) {
  add_key(key, GgufType::ARRAY);
  put_u32(metadata_, static_cast<uint32_t>(GgufType::STRING));
  put_u64(metadata_, v.size());
  for (const auto& s : v) append_string(s);
}

void GgufWriter::add_numeric_array(const std::string& key, GgufType elem_type, const void* elems,
                                   uint64_t count) {
  const size_t size = gguf_scalar_size(elem_type);
  LL_CHECK(size > 0);
  add_key(key, GgufType::ARRAY);
  put_u32(metadata_, static_cast<uint32_t>(elem_type));
  put_u64(metadata_, count);
  append(elems, count * size);
}

void GgufWriter::add_f32_array(const std::string& key, const std::vector<float>& v) {
  add_numeric_array(key, GgufType::F32, v.data(), v.size());
}

void GgufWriter::add_i32_array(const std::string& key, const std::vector<int32_t>& v) {
  add_numeric_array(key, GgufType::I32, v.data(), v.size());
}

void GgufWriter::add_tensor(const std::string& name, const Tensor& t) {
  LL_CHECK(tensor_names_.insert(name).second);
  LL_CHECK(t.ndim >= 1 && t.is_contiguous() && t.data != nullptr);
  ggml_type_of(t.dtype);  // checks the dtype
  tensors_.emplace_back(name, t);
}

void GgufWriter::write(const std::string& path) const {
  std::string header;
  put_u32(header, 0x46554747);  // "GGUF"
  put_u32(header, kVersion);
  put_u64(header, tensors_.size());
  put_u64(header, metadata_count_);
  header += metadata_;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    put_u64(header, name.size());
    header += name;
    put_u32(header, static_cast<uint32_t>(t.ndim));
    for (int d = t.ndim - 1; d >= 0; --d) put_u64(header, static_cast<uint64_t>(t.shape[d]));
    put_u32(header, ggml_type_of(t.dtype));
    put_u64(header, offset);
    offset = padded(offset + t.nbytes());
  }
  header.resize(padded(header.size()), '\0');

  AtomicFileWriter out(path);
  out.write(header.data(), header.size());
  static const char kZeros[kAlignment] = {};
  for (const auto& [name, t] : tensors_) {
    out.write(t.data, t.nbytes());
    out.write(kZeros, padded(t.nbytes()) - t.nbytes());
  }
  out.commit();
}

}  // namespace ll
