#include "formats/torch_bin_writer.h"

#include <filesystem>
#include <set>

#include "core/error.h"

namespace ll {
namespace {

// The storage class torch.save names for each element type.
const char* storage_class(DType dtype) {
  switch (dtype) {
    case DType::F32: return "FloatStorage";
    case DType::F16: return "HalfStorage";
    case DType::BF16: return "BFloat16Storage";
    case DType::I32: return "IntStorage";
  }
  return "";
}

// The pickle opcodes torch.save's protocol-2 pickle of a dict of tensors uses.
class PickleWriter {
 public:
  PickleWriter() { op(0x80).byte(2); }  // PROTO 2
  PickleWriter& op(uint8_t opcode) { return byte(opcode); }
  PickleWriter& mark() { return op('('); }
  PickleWriter& global(const std::string& module, const std::string& name) {
    op('c');
    text_ += module + "\n" + name + "\n";
    return *this;
  }
  PickleWriter& string(const std::string& s) {  // BINUNICODE: 4-byte length, UTF-8
    op('X').le(s.size(), 4);
    text_ += s;
    return *this;
  }
  PickleWriter& integer(int64_t v) {
    if (v >= 0 && v < 256) return op('K').le(static_cast<uint64_t>(v), 1);  // BININT1
    if (v >= INT32_MIN && v <= INT32_MAX) return op('J').le(static_cast<uint64_t>(v), 4);  // BININT
    return op(0x8a).byte(8).le(static_cast<uint64_t>(v), 8);  // LONG1, 8 bytes two's complement
  }
  PickleWriter& tuple(const int64_t* values, int n) {
    mark();
    for (int i = 0; i < n; ++i) integer(values[i]);
    return op('t');
  }
  const std::string& bytes() const { return text_; }

 private:
  PickleWriter& byte(uint8_t b) {
    text_.push_back(static_cast<char>(b));
    return *this;
  }
  PickleWriter& le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) byte(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::string text_;
};

// {name: _rebuild_tensor_v2(storage_i, 0, size, stride, False, OrderedDict())}, storage i at key "i".
std::string state_dict_pickle(const NamedTensors& tensors) {
  PickleWriter p;
  p.op('}').mark();  // EMPTY_DICT, then the items up to SETITEMS
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    p.string(name).global("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark().string("storage").global("torch", storage_class(t.dtype)).string(std::to_string(i)).string("cpu");
    p.integer(t.numel()).op('t').op('Q');  // TUPLE, BINPERSID
    p.integer(0).tuple(t.shape, t.ndim).tuple(t.stride, t.ndim);
    p.op(0x89);  // NEWFALSE: requires_grad
    p.global("collections", "OrderedDict").op(')').op('R');  // OrderedDict(): backward hooks
    p.op('t').op('R');                                       // the 6 arguments, REDUCE
  }
  p.op('u').op('.');  // SETITEMS, STOP
  return p.bytes();
}

}  // namespace

void write_torch_bin(const std::string& path, const NamedTensors& tensors, uint64_t zip64_from) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    LL_CHECK(names.insert(name).second);
    LL_CHECK(t.is_contiguous() && (t.data != nullptr || t.numel() == 0));
  }
  std::string stem = std::filesystem::path(path).stem().string();
  if (stem.empty()) stem = "archive";
  const std::string pickle = state_dict_pickle(tensors);
  ZipWriter zip(path, zip64_from);
  zip.add(stem + "/data.pkl", pickle.data(), pickle.size());
  zip.add(stem + "/byteorder", "little", 6);
  for (size_t i = 0; i < tensors.size(); ++i)
    zip.add(stem + "/data/" + std::to_string(i), tensors[i].second.data, tensors[i].second.nbytes());
  zip.add(stem + "/version", "3\n", 2);
  zip.finish();
}

}  // namespace ll
