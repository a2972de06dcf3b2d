// libFuzzer target: SafetensorsFile::OpenBuffer on arbitrary bytes must
// return a Status, never crash, hang or read out of bounds; when a file
// parses, every tensor's first and last byte is touched.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/check.h"
#include "io/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = kvs::SafetensorsFile::OpenBuffer(std::vector<uint8_t>(data, data + size), "fuzz");
  if (!file.ok()) {
    KVS_CHECK(!file.status().message().empty());
    return 0;
  }
  size_t sink = 0;
  for (const kvs::TensorInfo& t : (*file)->tensors()) {
    KVS_CHECK((*file)->FindTensor(t.name) == &t) << "tensor index out of sync";
    if (t.n_bytes > 0) {
      const auto* p = static_cast<const uint8_t*>(t.data);
      sink += p[0] + p[t.n_bytes - 1];
    }
  }
  volatile size_t keep = sink;
  (void)keep;
  return 0;
}
