#include "base/huge_pages.h"

#include <cstring>

#include <sys/mman.h>

namespace kvs {

HugePageBuffer AllocateHugePages(size_t bytes, bool zero) {
  const size_t rounded = (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  if (rounded == 0) return nullptr;
  HugePageBuffer buf(static_cast<uint8_t*>(std::aligned_alloc(kHugePageBytes, rounded)));
  if (buf == nullptr) return nullptr;
  // Advice only: where THP is off the buffer still works, on 4 KiB pages.
  madvise(buf.get(), rounded, MADV_HUGEPAGE);
  if (zero) std::memset(buf.get(), 0, rounded);
  return buf;
}

}  // namespace kvs
