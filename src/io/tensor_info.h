// TensorInfo: one tensor of a model file, format-neutral (GGUF or llama2.c).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace kvs {

struct TensorInfo {
  std::string name;
  DType type = DType::kF32;
  // GGUF "ne" order: dims[0] is the innermost (contiguous) dimension, so a
  // [rows, cols] matrix has dims {cols, rows}. 1 to 4 entries.
  std::vector<int64_t> dims;
  uint64_t offset = 0;          // from the start of the file's data section
  const void* data = nullptr;   // borrowed from the file that owns the bytes
  size_t n_bytes = 0;

  int64_t n_elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
};

}  // namespace kvs
