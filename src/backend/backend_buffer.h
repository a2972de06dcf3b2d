// BackendBuffer: a block of memory a backend allocated for its own ops to
// read and write (the KV pool; a GPU backend's device memory). Whoever
// asked for it owns it; the backend decides where it lives, so the same
// runner code serves host and device memory (ggml's backend buffers).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/huge_pages.h"

namespace kvs {

class BackendBuffer {
 public:
  virtual ~BackendBuffer() = default;
  // The first byte, as the backend's ops address it (not necessarily
  // dereferenceable on the host for a device backend).
  virtual uint8_t* data() = 0;
  virtual size_t size() const = 0;
};

// Host memory on huge pages where the kernel allows, zero-filled (and so
// resident): what the CPU backends use.
class HostBuffer final : public BackendBuffer {
 public:
  // Null when the allocation fails.
  static std::unique_ptr<HostBuffer> Create(size_t bytes) {
    HugePageBuffer mem = AllocateHugePages(bytes, /*zero=*/true);
    if (!mem) return nullptr;
    return std::unique_ptr<HostBuffer>(new HostBuffer(std::move(mem), bytes));
  }
  uint8_t* data() override { return mem_.get(); }
  size_t size() const override { return size_; }

 private:
  HostBuffer(HugePageBuffer mem, size_t size) : mem_(std::move(mem)), size_(size) {}
  HugePageBuffer mem_;
  size_t size_;
};

}  // namespace kvs
