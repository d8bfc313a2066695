// PyTorch checkpoints written by torch.save (pytorch_model.bin, PEFT adapter_model.bin,
// LongLoRA trainable_params.bin), read without executing anything.
//
// A torch.save file (PyTorch >= 1.6) is a ZIP archive of stored entries under one top folder
// <name>/: data.pkl (a pickle of the saved object), data/<key> (the raw little-endian bytes of
// each storage), version, and from PyTorch 2.1 byteorder. data.pkl is run by a restricted pickle
// machine (formats/pickle_reader.h) that knows only these globals:
//   collections.OrderedDict                      -> an empty dict (filled by SETITEMS)
//   torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
//                                   backward_hooks[, metadata])  -> a tensor
//   torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)           -> data
//   torch._utils._rebuild_parameter_with_state(data, requires_grad, hooks, state)  -> data
//   torch.<Type>Storage and torch.<dtype> (float32, bfloat16, ...) -> element types, only as
//   the type in a persistent id ('storage', type, key, location, numel) -> <name>/data/<key>
// Anything else (os.system, builtins.eval, torch.storage._load_from_bytes, ...) is refused when
// it is named: "forbidden global 'os.system'".
//
// The saved object must be a dict of name -> tensor. Tensors become views into the mapping when
// they are contiguous, of a readable dtype, and aligned to their element size (torch aligns
// storages to 64 bytes; kernels accept any element-aligned view). Otherwise they are copied once,
// at open, into 64-byte-aligned memory: non-contiguous ones (transposed, strided slices), ones a
// foreign ZIP writer left misaligned, and F64 (rounded to F32) and I64 (to I32, when every value
// fits). Other element types (U8, BOOL, I16, ...) are listed and refused by get(). Views that
// overlap themselves (stride-0 expands) are refused, and the copies together may not exceed the
// file's size, so memory stays bounded by the file.
//
// The legacy pre-1.6 format (a bare pickle stream) is detected and refused with a clear message.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "formats/tensor_entry.h"
#include "formats/zip_archive.h"

namespace ll {

class TorchBinFile {
 public:
  // Maps `path` and rebuilds every tensor; any problem throws InputError naming the path (and
  // the archive entry, pickle offset or tensor at fault).
  static TorchBinFile open(const std::string& path);

  const std::string& path() const { return archive_.path(); }
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  // InputError "missing tensor 'x' in <file>" when absent, or naming its dtype when unreadable.
  Tensor get(const std::string& name) const;
  // Also checks the shape: InputError "tensor 'x' in <file>: expected shape [..], found [..]".
  Tensor get(const std::string& name, std::initializer_list<int64_t> expected_shape) const;
  Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  // Name, dtype as the file stores it ("F32", "I64", "U8", ...), shape and bytes (after any copy).
  const TensorEntry& entry(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  // True when `name` is used in place in the mapping; false when it was copied (see above).
  bool in_place(const std::string& name) const;

 private:
  explicit TorchBinFile(ZipArchive archive) : archive_(std::move(archive)) {}

  ZipArchive archive_;
  std::vector<TensorEntry> entries_;  // sorted by name
  std::vector<bool> in_place_;        // per entry
  std::unordered_map<std::string, size_t> index_;
  std::vector<OwnedTensor> copies_;  // the tensors that are not used in place
};

// True when `bytes` start like a legacy (pre-1.6) torch.save stream: PROTO, then the LONG1
// magic number 0x1950a86a20f9469cfc6c.
bool is_legacy_torch_save(const uint8_t* bytes, size_t size);

}  // namespace ll
