// Writes a dict of tensors as torch.save writes it (PyTorch >= 1.6's ZIP format), e.g. LongLoRA's
// trainable_params.bin, which its scripts read with torch.load:
//   <stem>/data.pkl    a protocol-2 pickle of {name: tensor}: each tensor is
//                      torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
//                      with its storage a persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel)
//   <stem>/byteorder   "little"
//   <stem>/data/<key>  each tensor's bytes (keys "0", "1", ... in order), 64-byte aligned
//   <stem>/version     "3"
// where <stem> is the file name without its extension, as torch.save names it. The pickle names
// only globals that torch.load(weights_only=True) allows, and formats/torch_bin.h reads it back.
// Written atomically (temporary + rename); tensor bytes are streamed from the views.
#pragma once
#include <string>

#include "formats/safetensors_writer.h"  // NamedTensors
#include "formats/zip_writer.h"

namespace ll {

// `tensors`: contiguous f32/f16/bf16/i32 views with distinct names, in the dict's order.
// `zip64_from`: see ZipWriter (tests lower it).
void write_torch_bin(const std::string& path, const NamedTensors& tensors,
                     uint64_t zip64_from = ZipWriter::kZip64Limit);

}  // namespace ll
