"""Checks files written by longlora's torch.save writer (formats/torch_bin_writer.h) with PyTorch itself.

usage: torch_load_oracle.py EXPECTED.safetensors FILE.bin [FILE.bin ...]

For each FILE.bin: Python's zipfile finds every CRC-32 right and every entry stored uncompressed
with its data on a 64-byte boundary; torch.load(weights_only=True) (the restricted unpickler, which
allows only tensor-rebuilding globals) returns a dict with EXPECTED's names in EXPECTED's order and
each tensor equal to EXPECTED's in dtype, shape and every bit. Exits 1 naming the first difference.
"""
import struct
import sys
import zipfile

import torch

import safetensors_io


def check_zip(path):
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        if bad is not None:
            raise SystemExit(f"{path}: CRC-32 of entry {bad} is wrong")
        with open(path, "rb") as f:
            raw = f.read()
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise SystemExit(f"{path}: entry {info.filename} is compressed")
            name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
            data_offset = info.header_offset + 30 + name_len + extra_len
            if "/data/" in info.filename and data_offset % 64 != 0:
                raise SystemExit(f"{path}: entry {info.filename} starts at byte {data_offset}, not 64-byte aligned")


def bits(t):
    """The tensor's bytes, whatever its dtype (bf16 has no numpy type)."""
    t = t.contiguous()
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def main():
    expected = safetensors_io.load(sys.argv[1])
    for path in sys.argv[2:]:
        check_zip(path)
        loaded = torch.load(path, weights_only=True)
        if list(loaded.keys()) != list(expected.keys()):
            raise SystemExit(f"{path}: names {list(loaded.keys())}, expected {list(expected.keys())}")
        for name, want in expected.items():
            got = loaded[name]
            if got.dtype != want.dtype or tuple(got.shape) != tuple(want.shape):
                raise SystemExit(f"{path}: {name}: {got.dtype} {tuple(got.shape)}, expected {want.dtype} "
                                 f"{tuple(want.shape)}")
            if not got.is_contiguous() or bits(got) != bits(want):
                raise SystemExit(f"{path}: {name}: the values differ")
        print(f"{path}: {len(expected)} tensors equal")


if __name__ == "__main__":
    main()
