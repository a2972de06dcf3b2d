// AlignedVector<T>: a std::vector whose storage starts on a 64-byte (cache
// line) boundary, for buffers that SIMD kernels read with whole-line loads.
// std::vector's own storage is only 16-byte aligned, and a 64-byte load from
// it straddles two lines: measured on the packed Q4 decode kernel, whose
// activation loads all straddled, that cost 15-20% of its read rate.
//
// Ownership and thread-safety: those of std::vector.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace kvs {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine}));
  }
  // The unsized form: clang declares sized deallocation only with
  // -fsized-deallocation.
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{kCacheLine}); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
};

template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace kvs
