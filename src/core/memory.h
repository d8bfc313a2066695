// Where a buffer's memory lives and comes from. The host heap, a backend's device (a CUDA GPU), or
// nowhere at all: a measuring resource hands out addresses that are never touched and only counts
// the bytes, so that the memory plan can run the real allocation path without the memory
// (model/memory_plan.h).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ll {

enum class Device : uint8_t { Host, Cuda };
const char* device_name(Device d);  // "host", "cuda"

class MemoryResource {
 public:
  virtual ~MemoryResource() = default;
  // 64-byte aligned, uninitialised; throws std::bad_alloc (or the device's error) when it cannot.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) = 0;
  virtual void fill_zero(void* p, size_t bytes) = 0;
  // Copies between the host and this resource's memory, and within it.
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // Where the memory it hands out lives (a measuring resource: where it would live).
  virtual Device device() const = 0;
  // Whether host code may read and write its memory directly (host memory that really exists).
  virtual bool host_accessible() const = 0;
  // Whether it only counts (MeasuringMemory, a backend in measuring mode): nothing may be written.
  virtual bool measuring() const { return false; }
};

// The host heap (aligned_alloc).
MemoryResource& host_memory();

// Counts instead of allocating: addresses from a private range that is never mapped, the bytes in
// use and their peak. Ops must not run on its buffers.
class MeasuringMemory final : public MemoryResource {
 public:
  explicit MeasuringMemory(Device device = Device::Host) : device_(device) {}
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  void fill_zero(void*, size_t) override {}
  void upload(void*, const void*, size_t) override {}
  void download(void*, const void*, size_t) override {}
  void copy(void*, const void*, size_t) override {}
  Device device() const override { return device_; }
  bool host_accessible() const override { return false; }
  bool measuring() const override { return true; }

  size_t in_use() const { return in_use_; }
  size_t peak() const { return peak_; }

 private:
  Device device_;
  uintptr_t next_ = uintptr_t{1} << 44;  // far above any real allocation of this process
  size_t in_use_ = 0, peak_ = 0;
};

// Bytes rounded up to the 64-byte alignment every resource hands out.
inline size_t aligned_size(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace ll
