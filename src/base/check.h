// KVS_CHECK(cond) << "what, likely cause": aborts on a broken invariant.
//
// For programming errors only; anything a user or a file can cause returns a
// Status instead.
#pragma once

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace kvs::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond) {
    stream_ << file << ":" << line << ": KVS_CHECK failed: " << cond << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace kvs::internal

#define KVS_CHECK(cond) \
  if (cond) {           \
  } else                \
    ::kvs::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()

#define KVS_CHECK_EQ(a, b) KVS_CHECK((a) == (b)) << (a) << " vs " << (b) << " "
#define KVS_CHECK_LT(a, b) KVS_CHECK((a) < (b)) << (a) << " vs " << (b) << " "
#define KVS_CHECK_LE(a, b) KVS_CHECK((a) <= (b)) << (a) << " vs " << (b) << " "
#define KVS_CHECK_GE(a, b) KVS_CHECK((a) >= (b)) << (a) << " vs " << (b) << " "
