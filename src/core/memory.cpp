#include "core/memory.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ll {

const char* device_name(Device d) { return d == Device::Host ? "host" : "cuda"; }

namespace {

class HostMemory final : public MemoryResource {
 public:
  void* allocate(size_t bytes) override {
    void* p = std::aligned_alloc(64, aligned_size(std::max<size_t>(bytes, 1)));
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p, size_t) override { std::free(p); }
  void fill_zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  Device device() const override { return Device::Host; }
  bool host_accessible() const override { return true; }
};

}  // namespace

MemoryResource& host_memory() {
  static HostMemory host;
  return host;
}

void* MeasuringMemory::allocate(size_t bytes) {
  bytes = aligned_size(std::max<size_t>(bytes, 1));
  void* p = reinterpret_cast<void*>(next_);
  next_ += bytes;
  in_use_ += bytes;
  peak_ = std::max(peak_, in_use_);
  return p;
}

void MeasuringMemory::deallocate(void*, size_t bytes) { in_use_ -= aligned_size(std::max<size_t>(bytes, 1)); }

}  // namespace ll
