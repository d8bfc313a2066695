// Hand-made torch.save archives for the .bin reader's tests: a pickle byte builder, a state-dict
// pickle in the form torch.save writes, and a ZIP writer of stored entries (optionally ZIP64,
// commented, misaligned or flagged compressed). Nothing here needs PyTorch.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace ll::test {

// Pickle opcodes by hand: each method appends one opcode with its argument.
class PickleBytes {
 public:
  std::string bytes;

  PickleBytes& op(uint8_t opcode) { return raw(std::string(1, static_cast<char>(opcode))); }
  PickleBytes& raw(const std::string& b) {
    bytes += b;
    return *this;
  }
  PickleBytes& proto(uint8_t v) { return op(0x80).raw(std::string(1, static_cast<char>(v))); }
  PickleBytes& mark() { return op('('); }
  PickleBytes& stop() { return op('.'); }
  PickleBytes& global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
  }
  PickleBytes& unicode(const std::string& s) { return op('X').le<uint32_t>(s.size()).raw(s); }
  PickleBytes& short_unicode(const std::string& s) { return op(0x8c).le<uint8_t>(s.size()).raw(s); }
  PickleBytes& unicode8(const std::string& s) { return op(0x8d).le<uint64_t>(s.size()).raw(s); }
  // The smallest of BININT1 / BININT2 / BININT / LONG1 that holds v, as pickle picks.
  PickleBytes& integer(int64_t v) {
    if (v >= 0 && v < 256) return op('K').le<uint8_t>(v);
    if (v >= 0 && v < 65536) return op('M').le<uint16_t>(v);
    if (v >= INT32_MIN && v <= INT32_MAX) return op('J').le<int32_t>(v);
    return op(0x8a).le<uint8_t>(8).le<int64_t>(v);
  }
  PickleBytes& binput(uint8_t i) { return op('q').le<uint8_t>(i); }
  PickleBytes& binget(uint8_t i) { return op('h').le<uint8_t>(i); }
  PickleBytes& ints_tuple(const std::vector<int64_t>& v) {
    mark();
    for (int64_t x : v) integer(x);
    return op('t');
  }

  template <class T>
  PickleBytes& le(T v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
};

// One tensor of a hand-made state dict: _rebuild_tensor_v2 over ('storage', torch.<storage_class>,
// key, 'cpu', numel).
struct FakeTensor {
  std::string name;
  std::string storage_class = "FloatStorage";
  std::string key = "0";
  int64_t numel = 1;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};

// The pickle torch.save (protocol 2) writes for an OrderedDict of `tensors`.
inline std::string state_dict_pickle(const std::vector<FakeTensor>& tensors) {
  PickleBytes p;
  p.proto(2).global("collections", "OrderedDict").binput(0).op(')').op('R').mark();
  for (const FakeTensor& t : tensors) {
    p.unicode(t.name).global("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark().unicode("storage").global("torch", t.storage_class).unicode(t.key).unicode("cpu").integer(t.numel).op('t');
    p.op('Q').integer(t.offset).ints_tuple(t.size).ints_tuple(t.stride).op(0x89);
    p.binget(0).op(')').op('R').op('t').op('R');
  }
  return p.op('u').stop().bytes;
}

struct ZipFile {
  std::string name, data;
  uint16_t method = 0;  // written as is: the data is never actually compressed
};

struct ZipOptions {
  size_t align = 64;    // data offsets padded to a multiple of this with a local extra field, as torch does
  size_t misalign = 0;  // ... plus this many bytes
  std::string comment;  // archive comment
  bool zip64 = false;   // ZIP64 EOCD + locator, saturated 32-bit fields, ZIP64 extra fields
};

inline void put16(std::string& b, uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }
inline void put32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
inline void put64(std::string& b, uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); }

// A ZIP archive of `files` (CRCs left zero: the reader does not check them).
inline std::string make_zip(const std::vector<ZipFile>& files, const ZipOptions& o = {}) {
  std::string out, central;
  for (const ZipFile& f : files) {
    const uint64_t local = out.size();
    const uint64_t unpadded = local + 30 + f.name.size() + 4;  // + a 4-byte extra block header
    const uint64_t pad = (o.align + o.misalign - unpadded % o.align) % o.align;
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);
    put16(out, f.method);
    put32(out, 0);  // time, date
    put32(out, 0);  // crc
    put32(out, f.data.size());
    put32(out, f.data.size());
    put16(out, f.name.size());
    put16(out, 4 + pad);
    out += f.name;
    put16(out, 0x4246);  // "FB", torch's padding block
    put16(out, pad);
    out.append(pad, 'Z');
    out += f.data;

    put32(central, 0x02014b50);
    put16(central, 45);
    put16(central, 45);
    put16(central, 0);
    put16(central, f.method);
    put32(central, 0);
    put32(central, 0);
    const uint32_t size32 = o.zip64 ? 0xFFFFFFFF : f.data.size();
    put32(central, size32);
    put32(central, size32);
    put16(central, f.name.size());
    put16(central, o.zip64 ? 4 + 24 : 0);
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);
    put32(central, 0);
    put32(central, o.zip64 ? 0xFFFFFFFF : local);
    central += f.name;
    if (o.zip64) {
      put16(central, 0x0001);
      put16(central, 24);
      put64(central, f.data.size());
      put64(central, f.data.size());
      put64(central, local);
    }
  }
  const uint64_t cd_offset = out.size();
  out += central;
  if (o.zip64) {
    const uint64_t record = out.size();
    put32(out, 0x06064b50);
    put64(out, 44);
    put16(out, 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, files.size());
    put64(out, files.size());
    put64(out, central.size());
    put64(out, cd_offset);
    put32(out, 0x07064b50);
    put32(out, 0);
    put64(out, record);
    put32(out, 1);
  }
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, o.zip64 ? 0xFFFF : files.size());
  put16(out, o.zip64 ? 0xFFFF : files.size());
  put32(out, o.zip64 ? 0xFFFFFFFF : central.size());
  put32(out, o.zip64 ? 0xFFFFFFFF : cd_offset);
  put16(out, o.comment.size());
  out += o.comment;
  return out;
}

// Raw little-endian bytes of floats (a storage entry).
inline std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

}  // namespace ll::test
