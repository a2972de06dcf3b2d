// Tensor views. Layout convention, stated once for the whole project:
// row-major, the last dimension contiguous. A shape comment such as
// `// [n_tokens, n_heads, head_dim]` lists dimensions outermost first.
//
// A view borrows its memory; a file mapping or a backend buffer owns it.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace kvs {

// A weight matrix [rows, cols], each row RowBytes(type, cols) bytes, rows
// contiguous. GGUF lists the same tensor's dims as ne = {cols, rows}.
struct WeightMatrix {
  DType type = DType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;

  int64_t row_bytes() const { return RowBytes(type, cols); }
  const uint8_t* row(int64_t r) const {
    return static_cast<const uint8_t*>(data) + r * row_bytes();
  }
};

}  // namespace kvs
