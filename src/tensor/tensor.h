// Tensor views. Layout convention, stated once for the whole project:
// row-major, the last dimension contiguous. A shape comment such as
// `// [n_tokens, n_heads, head_dim]` lists dimensions outermost first.
//
// A view borrows its memory; a file mapping or a backend buffer owns it.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace kvs {

// How a weight matrix's rows are laid out: as the model file stores them,
// or repacked by a backend for its own kernels (Backend::PrepareWeights;
// the backend that packed it documents the layout).
enum class WeightLayout : uint8_t { kFile, kPacked };

// A weight matrix [rows, cols], rows contiguous: RowBytes(type, cols) bytes
// each in the file's layout, packed_row_bytes when packed. GGUF lists the
// same tensor's dims as ne = {cols, rows}.
struct WeightMatrix {
  DType type = DType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  WeightLayout layout = WeightLayout::kFile;
  int64_t packed_row_bytes = 0;  // used only when layout == kPacked

  int64_t row_bytes() const {
    return layout == WeightLayout::kFile ? RowBytes(type, cols) : packed_row_bytes;
  }
  const uint8_t* row(int64_t r) const {
    return static_cast<const uint8_t*>(data) + r * row_bytes();
  }
};

}  // namespace kvs
