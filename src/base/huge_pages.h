// Large buffers backed by transparent huge pages where the kernel allows.
//
// Decode streams the weights and every sequence's KV blocks once per step;
// with 4 KiB pages each new page is a TLB miss, and under virtualisation a
// miss is a two-level page walk. 2 MiB pages cut those walks 512-fold.
// Ownership: the returned pointer owns the memory (std::free).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace kvs {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

struct HugePageFree {
  void operator()(void* p) const { std::free(p); }
};
using HugePageBuffer = std::unique_ptr<uint8_t, HugePageFree>;

// At least `bytes` bytes, 2 MiB aligned, advised MADV_HUGEPAGE; zero-filled
// (and so resident) when `zero`. Null when the allocation fails.
HugePageBuffer AllocateHugePages(size_t bytes, bool zero);

}  // namespace kvs
