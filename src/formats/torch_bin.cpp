#include "formats/torch_bin.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "formats/pickle_reader.h"

namespace ll {
namespace {

using Kind = PickleValue::Kind;

// The element types torch.save names, by legacy storage class and by dtype object.
struct ElementType {
  const char* storage_class;  // torch.<storage_class>
  const char* dtype;          // torch.<dtype>
  const char* dtype_alias;    // torch.<dtype_alias> is the same object ("" if none)
  const char* file_dtype;     // TensorEntry::file_dtype
  size_t bytes;
  bool readable;  // F32/F16/BF16/I32 directly; F64 and I64 converted to `dtype_read`
  DType dtype_read;
};

constexpr ElementType kElementTypes[] = {
    {"FloatStorage", "float32", "float", "F32", 4, true, DType::F32},
    {"HalfStorage", "float16", "half", "F16", 2, true, DType::F16},
    {"BFloat16Storage", "bfloat16", "", "BF16", 2, true, DType::BF16},
    {"IntStorage", "int32", "int", "I32", 4, true, DType::I32},
    {"DoubleStorage", "float64", "double", "F64", 8, true, DType::F32},
    {"LongStorage", "int64", "long", "I64", 8, true, DType::I32},
    {"ShortStorage", "int16", "short", "I16", 2, false, DType::F32},
    {"CharStorage", "int8", "", "I8", 1, false, DType::F32},
    {"ByteStorage", "uint8", "", "U8", 1, false, DType::F32},
    {"BoolStorage", "bool", "", "BOOL", 1, false, DType::F32},
    {"ComplexFloatStorage", "complex64", "cfloat", "C64", 8, false, DType::F32},
    {"ComplexDoubleStorage", "complex128", "cdouble", "C128", 16, false, DType::F32},
};

// torch.<name>: a storage class or a dtype; nullptr for anything else.
const ElementType* find_element_type(const std::string& name) {
  for (const ElementType& t : kElementTypes)
    if (name == t.storage_class || name == t.dtype || (t.dtype_alias[0] && name == t.dtype_alias)) return &t;
  return nullptr;
}

const ElementType* element_type_of(const PickleValue& v) {
  if (!v.is(Kind::Global) || v.text.rfind("torch.", 0) != 0) return nullptr;
  return find_element_type(v.text.substr(6));
}

struct Storage {
  std::string key;
  std::string entry;  // "<name>/data/<key>"
  const ElementType* type;
  const uint8_t* bytes;
  uint64_t numel;
};

// What _rebuild_tensor_v2 was given: elements offset + Σ i_d·stride[d] of a storage.
struct TensorRecord {
  size_t storage;
  int64_t offset;
  std::vector<int64_t> size, stride;
};

[[noreturn]] void fail(const std::string& what) { fail_input("", what); }

int64_t non_negative_int(const PickleValue& v, const std::string& what) {
  if (!v.is(Kind::Int) || v.integer < 0) fail(what + ": expected a non-negative int, found " + describe(v));
  return v.integer;
}

std::vector<int64_t> non_negative_ints(const PickleValue& v, const std::string& what) {
  if (!v.is(Kind::Tuple)) fail(what + ": expected a tuple of ints, found " + describe(v));
  std::vector<int64_t> out;
  out.reserve(v.items.size());
  for (const PickleValue* item : v.items) out.push_back(non_negative_int(*item, what));
  return out;
}

// Runs torch.save's side of the pickle: storages from persistent ids, tensors from
// _rebuild_tensor_v2, parameters unwrapped, OrderedDicts as dicts.
class TorchUnpickler final : public PickleHandler {
 public:
  TorchUnpickler(const ZipArchive& archive, std::string prefix) : archive_(archive), prefix_(std::move(prefix)) {}

  const std::vector<Storage>& storages() const { return storages_; }
  const std::vector<TensorRecord>& tensors() const { return tensors_; }

  bool allows_global(const std::string& module, const std::string& name) const override {
    if (module == "collections") return name == "OrderedDict";
    if (module == "torch._utils")
      return name == "_rebuild_tensor_v2" || name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state";
    if (module == "torch") return find_element_type(name) != nullptr;
    return false;
  }

  PickleValue* call(PickleHeap& heap, const PickleValue& callable, const PickleValue& args) override {
    const std::string& f = callable.text;
    const auto& a = args.items;
    if (f == "collections.OrderedDict") {
      if (!a.empty()) fail(f + " called with " + describe(args) + " arguments; torch.save passes none");
      return heap.make(Kind::Dict);
    }
    if (f == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(heap, args);
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
      // (data, requires_grad, backward_hooks[, state]) -> data: a Parameter is its tensor here.
      const size_t expected = f.ends_with("_with_state") ? 4 : 3;
      if (a.size() != expected)
        fail(f + " expects " + std::to_string(expected) + " arguments, found " + std::to_string(a.size()));
      if (!a[0]->is_object("tensor")) fail(f + ": data: expected a tensor, found " + describe(*a[0]));
      return a[0];
    }
    fail("global '" + f + "' cannot be called: it only names an element type");
  }

  // ('storage', type, key, location, numel) -> the storage in <name>/data/<key>.
  PickleValue* persistent_load(PickleHeap& heap, const PickleValue& pid) override {
    const std::string form = "('storage', storage_type, key, location, numel)";
    if (!pid.is(Kind::Tuple) || pid.items.size() != 5)
      fail("persistent id: expected " + form + ", found " + describe(pid));
    const auto& p = pid.items;
    if (!p[0]->is(Kind::String) || p[0]->text != "storage")
      fail("persistent id: expected " + form + ", found " + describe(*p[0]) + " first");
    const ElementType* type = element_type_of(*p[1]);
    if (!type) fail("persistent id: storage_type: expected a torch storage class or dtype, found " + describe(*p[1]));
    if (!p[2]->is(Kind::String)) fail("persistent id: key: expected a string, found " + describe(*p[2]));
    if (!p[3]->is(Kind::String)) fail("persistent id: location: expected a string, found " + describe(*p[3]));
    const std::string& key = p[2]->text;
    const uint64_t numel = static_cast<uint64_t>(non_negative_int(*p[4], "persistent id: numel"));

    if (const auto seen = storage_of_key_.find(key); seen != storage_of_key_.end()) {
      const Storage& s = storages_[seen->second];
      if (s.type != type || s.numel != numel)
        fail("storage '" + key + "' is named again as " + std::to_string(numel) + " elements of " + type->file_dtype +
             ", first as " + std::to_string(s.numel) + " of " + s.type->file_dtype);
      return heap.make_object("storage", static_cast<int64_t>(seen->second));
    }

    Storage s{key, prefix_ + "data/" + key, type, nullptr, numel};
    const ZipEntry* entry = archive_.find(s.entry);
    if (!entry) fail("storage '" + key + "' is missing: the archive has no entry '" + s.entry + "'");
    const std::span<const uint8_t> bytes = archive_.stored_bytes(*entry);  // stored: checked at open
    if (numel > bytes.size() / type->bytes || numel * type->bytes != bytes.size())
      fail("storage '" + key + "': entry '" + s.entry + "' holds " + std::to_string(bytes.size()) +
           " bytes, but the persistent id says " + std::to_string(numel) + " elements of " + type->file_dtype);
    s.bytes = bytes.data();
    storage_of_key_.emplace(key, storages_.size());
    storages_.push_back(std::move(s));
    return heap.make_object("storage", static_cast<int64_t>(storages_.size() - 1));
  }

 private:
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  PickleValue* rebuild_tensor(PickleHeap& heap, const PickleValue& args) {
    const std::string f = "torch._utils._rebuild_tensor_v2";
    const auto& a = args.items;
    if (a.size() != 6 && a.size() != 7)
      fail(f +
           " expects 6 or 7 arguments (storage, storage_offset, size, stride, requires_grad, "
           "backward_hooks[, metadata]), found " +
           std::to_string(a.size()));
    if (!a[0]->is_object("storage")) fail(f + ": storage: expected a storage, found " + describe(*a[0]));
    TensorRecord t;
    t.storage = static_cast<size_t>(a[0]->integer);
    t.offset = non_negative_int(*a[1], f + ": storage_offset");
    t.size = non_negative_ints(*a[2], f + ": size");
    t.stride = non_negative_ints(*a[3], f + ": stride");
    if (t.size.size() != t.stride.size())
      fail(f + ": size has " + std::to_string(t.size.size()) + " dimensions but stride has " +
           std::to_string(t.stride.size()));
    if (!a[4]->is(Kind::Bool)) fail(f + ": requires_grad: expected a bool, found " + describe(*a[4]));
    if (!a[5]->is(Kind::Dict)) fail(f + ": backward_hooks: expected a dict, found " + describe(*a[5]));
    tensors_.push_back(std::move(t));
    return heap.make_object("tensor", static_cast<int64_t>(tensors_.size() - 1));
  }

  const ZipArchive& archive_;
  std::string prefix_;
  std::vector<Storage> storages_;
  std::unordered_map<std::string, size_t> storage_of_key_;
  std::vector<TensorRecord> tensors_;
};

// "<name>/" of the single "<name>/data.pkl" entry.
std::string archive_prefix(const ZipArchive& archive) {
  std::vector<std::string> pickles;
  for (const ZipEntry& e : archive.entries()) {
    const size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0)
      pickles.push_back(e.name);
  }
  if (pickles.empty())
    fail_input(archive.path(), "a ZIP archive without a '<name>/data.pkl' entry: not written by torch.save");
  if (pickles.size() > 1)
    fail_input(archive.path(), "several data.pkl entries ('" + pickles[0] + "', '" + pickles[1] +
                                   "'): expected the single one torch.save writes");
  const std::string prefix = pickles[0].substr(0, pickles[0].size() - std::string("data.pkl").size());
  if (archive.find(prefix + "constants.pkl"))
    fail_input(archive.path(), "a TorchScript archive (torch.jit.save), not a torch.save checkpoint");
  return prefix;
}

bool is_row_major(const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
  int64_t expected = 1;
  for (size_t d = size.size(); d-- > 0;) {
    if (size[d] != 1 && stride[d] != expected) return false;
    expected *= size[d];
  }
  return true;
}

// f(i, source element) for the tensor's elements i = 0, 1, ... in row-major order, where the
// source element is Σ index_d·stride[d] (relative to the storage offset).
template <class F>
void for_each_element(const std::vector<int64_t>& size, const std::vector<int64_t>& stride, F&& f) {
  const size_t ndim = size.size();
  if (ndim == 0) return f(int64_t{0}, int64_t{0});
  std::vector<int64_t> index(ndim, 0);
  int64_t source = 0, i = 0;
  const int64_t inner = size[ndim - 1], inner_stride = stride[ndim - 1];
  for (;;) {
    for (int64_t j = 0; j < inner; ++j) f(i++, source + j * inner_stride);
    size_t d = ndim - 1;
    for (; d-- > 0;) {
      source += stride[d];
      if (++index[d] < size[d]) break;
      source -= stride[d] * size[d];
      index[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

struct Materialized {
  TensorEntry entry;
  OwnedTensor copy;  // empty when the entry is a view into the mapping (or not readable)
  bool in_place = false;
};

// Checks `t` against its storage and makes its entry: a view into the mapping when possible,
// else a copy (charged against `copy_budget` bytes).
Materialized materialize(const std::string& name, const TensorRecord& t, const Storage& s, uint64_t& copy_budget,
                         const std::string& where) {
  const ElementType& type = *s.type;
  const std::string tensor_where = where + ": tensor '" + name + "'";
  int64_t numel = 1;
  for (int64_t n : t.size)
    if (__builtin_mul_overflow(numel, n, &numel))
      fail_input(tensor_where, "size " + shape_string(t.size) + " is too large");
  if (numel > 0) {
    // The last element it reaches must lie in the storage.
    int64_t last = t.offset, step;
    for (size_t d = 0; d < t.size.size(); ++d)
      if (__builtin_mul_overflow(t.size[d] - 1, t.stride[d], &step) || __builtin_add_overflow(last, step, &last))
        fail_input(tensor_where,
                   "size " + shape_string(t.size) + " with stride " + shape_string(t.stride) + " is too large");
    if (static_cast<uint64_t>(last) >= s.numel)
      fail_input(tensor_where, "size " + shape_string(t.size) + " with stride " + shape_string(t.stride) +
                                   " at storage offset " + std::to_string(t.offset) + " reaches element " +
                                   std::to_string(last) + " of storage '" + s.key + "' (entry '" + s.entry +
                                   "'), which holds " + std::to_string(s.numel) + " elements");
    if (static_cast<uint64_t>(numel) > s.numel)
      fail_input(tensor_where, "has " + std::to_string(numel) + " elements but its storage '" + s.key + "' only " +
                                   std::to_string(s.numel) + ": views that repeat elements (expand) are not supported");
  }

  Materialized m;
  m.entry.name = name;
  m.entry.file_dtype = type.file_dtype;
  m.entry.shape = t.size;
  m.entry.supported = type.readable;
  m.entry.dtype = type.dtype_read;
  const uint8_t* first = numel > 0 ? s.bytes + t.offset * type.bytes : s.bytes;
  const bool converts = type.readable && dtype_size(type.dtype_read) != type.bytes;
  const bool aligned = reinterpret_cast<uintptr_t>(first) % type.bytes == 0;
  if (!type.readable || t.size.size() > static_cast<size_t>(kMaxDims)) {
    // Listed for names()/entry(); get() refuses it (dtype or dimensions).
    if (is_row_major(t.size, t.stride)) {
      m.entry.data = first;
      m.entry.nbytes = static_cast<size_t>(numel) * type.bytes;
    }
    return m;
  }
  if (!converts && aligned && is_row_major(t.size, t.stride)) {
    m.entry.data = first;
    m.entry.nbytes = static_cast<size_t>(numel) * type.bytes;
    m.in_place = true;
    return m;
  }

  const uint64_t copy_bytes = static_cast<uint64_t>(numel) * dtype_size(type.dtype_read);
  if (copy_bytes > copy_budget)
    fail_input(tensor_where,
               "copying it (it is not contiguous, aligned or of a directly readable dtype) would "
               "take the copies past the file's own size: overlapping views are not supported");
  copy_budget -= copy_bytes;
  const int64_t scalar_shape = 1;
  m.copy = t.size.empty() ? OwnedTensor(type.dtype_read, &scalar_shape, 1)
                          : OwnedTensor(type.dtype_read, t.size.data(), static_cast<int>(t.size.size()));
  uint8_t* dst = static_cast<uint8_t*>(m.copy.data());
  const uint8_t* src = first;
  if (numel > 0) {
    if (!converts) {
      for_each_element(t.size, t.stride, [&](int64_t i, int64_t e) {
        std::memcpy(dst + i * type.bytes, src + e * type.bytes, type.bytes);
      });
    } else if (type.dtype_read == DType::F32) {  // F64 -> F32, rounded to nearest
      for_each_element(t.size, t.stride, [&](int64_t i, int64_t e) {
        double v;
        std::memcpy(&v, src + e * 8, 8);
        const float f = static_cast<float>(v);
        std::memcpy(dst + i * 4, &f, 4);
      });
    } else {  // I64 -> I32, when every value fits
      bool fits = true;
      for_each_element(t.size, t.stride, [&](int64_t i, int64_t e) {
        int64_t v;
        std::memcpy(&v, src + e * 8, 8);
        fits &= v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
        const int32_t n = static_cast<int32_t>(v);
        std::memcpy(dst + i * 4, &n, 4);
      });
      if (!fits) {
        copy_budget += copy_bytes;
        m.copy = OwnedTensor();
        m.entry.supported = false;
        return m;
      }
    }
  }
  m.entry.data = dst;
  m.entry.nbytes = static_cast<size_t>(copy_bytes);
  return m;
}

}  // namespace

bool is_legacy_torch_save(const uint8_t* bytes, size_t size) {
  // PROTO n, LONG1 of 10 bytes: 0x1950a86a20f9469cfc6c little-endian.
  static constexpr uint8_t kMagic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  return size >= 2 + sizeof kMagic && bytes[0] == 0x80 && std::memcmp(bytes + 2, kMagic, sizeof kMagic) == 0;
}

TorchBinFile TorchBinFile::open(const std::string& path) {
  MappedFile mapped(path);
  if (is_legacy_torch_save(mapped.data(), mapped.size()))
    fail_input(path, "legacy torch.save format (PyTorch < 1.6) is not supported; re-save it with torch >= 1.6");
  if (!starts_like_zip({mapped.data(), mapped.size()}))
    fail_input(path, "not a torch.save checkpoint: expected a ZIP archive (starting with \"PK\\3\\4\")");
  TorchBinFile file(ZipArchive(std::move(mapped)));
  const ZipArchive& archive = file.archive_;
  const std::string prefix = archive_prefix(archive);

  // Storages are used in place, so they must be stored; find a compressed one before the pickle.
  for (const ZipEntry& e : archive.entries())
    if (e.name.starts_with(prefix + "data/")) archive.stored_bytes(e);
  if (const ZipEntry* order = archive.find(prefix + "byteorder")) {
    const std::span<const uint8_t> bytes = archive.stored_bytes(*order);
    const std::string text(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 16));
    if (bytes.size() != 6 || text != "little")
      fail_expected(path + ": entry '" + order->name + "'", "byte order", "\"little\"",
                    "\"" + text + "\" (only little-endian checkpoints can be read)");
  }

  const ZipEntry& pickle_entry = *archive.find(prefix + "data.pkl");
  const std::string where = path + ": " + pickle_entry.name;
  PickleHeap heap;
  TorchUnpickler unpickler(archive, prefix);
  const PickleValue* root = run_pickle(archive.stored_bytes(pickle_entry), where, heap, unpickler);
  if (!root->is(Kind::Dict))
    fail_input(where, "expected a dict of tensor names to tensors at the top level, found " + describe(*root));

  std::vector<std::pair<std::string, size_t>> named;  // name -> tensor record
  named.reserve(root->entries.size());
  for (const auto& [key, value] : root->entries) {
    if (!key->is(Kind::String))
      fail_input(where, "top-level dict: expected tensor names as keys, found " + describe(*key));
    if (!value->is_object("tensor"))
      fail_input(where, "top-level dict: '" + key->text + "' is " + describe(*value) + ", expected a tensor");
    named.emplace_back(key->text, static_cast<size_t>(value->integer));
  }
  std::sort(named.begin(), named.end());
  for (size_t i = 1; i < named.size(); ++i)
    if (named[i].first == named[i - 1].first)
      fail_input(where, "top-level dict: tensor '" + named[i].first + "' appears twice");

  uint64_t copy_budget = archive.file_size();
  std::unordered_map<size_t, size_t> entry_of_record;  // the same tensor under several names
  for (const auto& [name, record] : named) {
    const auto seen = entry_of_record.find(record);
    if (seen != entry_of_record.end()) {
      TensorEntry shared = file.entries_[seen->second];
      shared.name = name;
      file.in_place_.push_back(file.in_place_[seen->second]);
      file.entries_.push_back(std::move(shared));
    } else {
      const TensorRecord& t = unpickler.tensors()[record];
      Materialized m = materialize(name, t, unpickler.storages()[t.storage], copy_budget, where);
      if (!m.copy.empty()) file.copies_.push_back(std::move(m.copy));
      file.in_place_.push_back(m.in_place);
      entry_of_record.emplace(record, file.entries_.size());
      file.entries_.push_back(std::move(m.entry));
    }
    file.index_.emplace(name, file.entries_.size() - 1);
  }
  return file;
}

const TensorEntry& TorchBinFile::entry(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) fail_input("", "missing tensor '" + name + "' in " + path());
  return entries_[it->second];
}

bool TorchBinFile::in_place(const std::string& name) const {
  return in_place_[static_cast<size_t>(&entry(name) - entries_.data())];
}

Tensor TorchBinFile::get(const std::string& name) const {
  const TensorEntry& e = entry(name);
  if (!e.supported)
    fail_input(path(), "tensor '" + name + "' has dtype " + e.file_dtype +
                           "; only F32, F16, BF16 and I32 tensors can be read (F64 is read as F32, and I64 as "
                           "I32 when every value fits)");
  return entry_view(e, path());
}

Tensor TorchBinFile::get(const std::string& name, std::initializer_list<int64_t> expected_shape) const {
  return get(name, std::vector<int64_t>(expected_shape));
}

Tensor TorchBinFile::get(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const TensorEntry& e = entry(name);
  if (e.shape != expected_shape)
    fail_input("tensor '" + name + "' in " + path(),
               "expected shape " + shape_string(expected_shape) + ", found " + shape_string(e.shape));
  return get(name);
}

std::vector<std::string> TorchBinFile::names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const TensorEntry& e : entries_) names.push_back(e.name);
  return names;
}

}  // namespace ll
