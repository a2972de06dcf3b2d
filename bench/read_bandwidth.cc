// read_bandwidth: the memory read bandwidth ceiling, as an AVX-512 read loop
// over a buffer far larger than the caches, on 1..T threads.
//
// Decoding reads every weight once per token, so bytes-per-token divided by
// this figure is the fastest a decode step can be. Built by
// bench/compare_llamacpp.sh: g++ -O2 -mavx512f -pthread read_bandwidth.cc
// Usage: read_bandwidth [threads=2] [MiB=1024] [passes=8]; prints GB/s.
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

// Reads [p, p + bytes) with 64-byte loads into four independent xor chains
// (so loads, not a dependency chain, set the pace); returns the folded value
// so that the compiler cannot drop the loads.
uint64_t ReadSlice(const char* p, size_t bytes) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  for (size_t i = 0; i + 256 <= bytes; i += 256) {
    a = _mm512_xor_si512(a, _mm512_load_si512(p + i));
    b = _mm512_xor_si512(b, _mm512_load_si512(p + i + 64));
    c = _mm512_xor_si512(c, _mm512_load_si512(p + i + 128));
    d = _mm512_xor_si512(d, _mm512_load_si512(p + i + 192));
  }
  const __m512i x = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
  return static_cast<uint64_t>(_mm512_reduce_add_epi64(x));
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const size_t mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
  const int passes = argc > 3 ? std::atoi(argv[3]) : 8;
  const size_t bytes = mib << 20;
  char* buf = static_cast<char*>(std::aligned_alloc(4096, bytes));
  if (buf == nullptr || threads < 1) return 1;
  std::memset(buf, 1, bytes);  // fault every page in before timing
  const size_t slice = bytes / threads / 256 * 256;
  std::vector<uint64_t> sink(threads);
  double best = 0;
  for (int pass = 0; pass < passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] { sink[t] += ReadSlice(buf + t * slice, slice); });
    }
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double gbs = slice * threads / s / 1e9;
    if (gbs > best) best = gbs;
  }
  uint64_t fold = 0;
  for (uint64_t v : sink) fold ^= v;
  std::printf("%.2f\n", best);
  std::fprintf(stderr, "read bandwidth: %.2f GB/s best of %d passes, %d threads, %zu MiB (%llx)\n",
               best, passes, threads, mib, static_cast<unsigned long long>(fold & 0xf));
  std::free(buf);
  return 0;
}
