#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace kvs {
namespace {

TEST(ThreadPoolTest, ParallelForCoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      pool.ParallelFor(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << threads << " " << n;
    }
  }
}

TEST(ThreadPoolTest, RunCallsEveryThreadManyTimes) {
  ThreadPool pool(3);
  std::atomic<int> calls{0};
  for (int rep = 0; rep < 2000; ++rep) pool.Run([&](int, int nt) {
      EXPECT_EQ(nt, 3);
      calls++;
    });
  EXPECT_EQ(calls.load(), 6000);
}

}  // namespace
}  // namespace kvs
