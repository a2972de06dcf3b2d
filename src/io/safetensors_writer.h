// SafetensorsWriter: writes a .safetensors file (the format
// safetensors_reader.h reads): tensors declared first, then their bytes
// streamed in declaration order, as GgufWriter does.
//
// The header is padded with spaces to a multiple of 8 bytes, as Hugging
// Face's writer pads it, so that the data section starts aligned.
// Not thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/gguf_writer.h"  // TensorSink

namespace kvs {

class SafetensorsWriter {
 public:
  // dims in GGUF order (innermost first). F32, F16 and BF16 only.
  Status AddTensor(const std::string& name, DType type, const std::vector<int64_t>& dims);
  void SetMetadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  // `fill(i, sink)` must write exactly tensor i's bytes.
  Status WriteFile(const std::string& path, const GgufWriter::FillFn& fill) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> dims;
    uint64_t n_bytes;
  };
  std::vector<Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace kvs
