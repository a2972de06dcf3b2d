// libFuzzer target: GgufFile::OpenBuffer on arbitrary bytes must return a
// Status, never crash, hang or read out of bounds (built with ASan; see the
// Makefile's `make fuzz`). When a file parses, everything it hands out is
// touched, so that a dangling view or an out-of-range tensor pointer shows.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/gguf_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = kvs::GgufFile::OpenBuffer(std::vector<uint8_t>(data, data + size), "fuzz");
  if (!file.ok()) {
    KVS_CHECK(!file.status().message().empty());
    return 0;
  }
  const kvs::GgufFile& f = **file;
  size_t sink = 0;
  for (const auto& [key, value] : f.metadata()) {
    sink += value.ToString(4).size();
    KVS_CHECK(f.Find(key) == &value) << "key index out of sync";
    (void)f.GetU32(key);
    (void)f.GetF32(key);
    (void)f.GetString(key);
    (void)f.GetI32Array(key);
    (void)f.GetF32Array(key);
    (void)f.GetStringArray(key);
  }
  for (const kvs::TensorInfo& t : f.tensors()) {
    KVS_CHECK(f.FindTensor(t.name) == &t) << "tensor index out of sync";
    if (t.n_bytes > 0) {
      const auto* p = static_cast<const uint8_t*>(t.data);
      sink += p[0] + p[t.n_bytes - 1];
    }
  }
  volatile size_t keep = sink;
  (void)keep;
  return 0;
}
