#include "backend/backend.h"

#include "backend/cpu_backend.h"

namespace ll {

Backend& cpu_backend() {
  static CpuBackend cpu;
  return cpu;
}

Tensor host_view(Backend& backend, const Tensor& t, OwnedTensor& keep) {
  if (t.device == Device::Host) return t;
  keep = OwnedTensor(t.dtype, t.shape, t.ndim);
  backend.download(keep.data(), t.data, t.nbytes());
  return keep.view();
}

std::unique_ptr<Backend> make_measuring_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(/*measuring=*/true, threads);
}

std::vector<Backend*> available_backends() { return {&cpu_backend()}; }

}  // namespace ll
