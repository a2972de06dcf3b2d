// KvStorage: the physical KV cache, one preallocated pool shared by every
// sequence. Which block belongs to whom is the KvCacheManager's business;
// this only holds the numbers.
//
// Layout per layer: k and v each [n_blocks, block_size, row], a row being
// kv_dim values stored as the pool's dtype (F32, F16, BF16 or Q8_0; see
// IsKvCacheDType): KvRowBytes(dtype, kv_dim) bytes. Every dtype has the same
// blocks of the same tokens; only a block's bytes shrink (F16/BF16 half of
// F32's, Q8_0 34/128 of it). A block of one layer's K (or V) is one
// contiguous run of block_bytes() bytes: KBlock / VBlock hand it out as
// opaque bytes (to copy or ship whole; its meaning is in desc()).
//
// Ownership: owns the memory, allocated once at creation by the backend
// whose ops read it (Backend::AllocateBuffer: zeroed, so resident; the CPU
// backends put it on huge pages, since attention reads each sequence's
// blocks every step, scattered over the pool). Thread-safety: none; the
// engine thread owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "base/status.h"
#include "tensor/dtype.h"

namespace kvs {

// What a pool holds, enough to interpret (or refuse) its blocks' bytes.
struct KvStorageDesc {
  DType dtype = DType::kF32;
  int n_layers = 0;
  int n_blocks = 0;
  int block_size = 0;       // tokens per block
  int kv_dim = 0;           // values per row (n_kv_heads * head_dim)
  int64_t row_bytes = 0;    // KvRowBytes(dtype, kv_dim)
  int64_t block_bytes = 0;  // block_size * row_bytes: one layer's K (or V) block
};

// "f32", "f16", "bf16" or "q8_0" (case-insensitive) to its DType; an
// InvalidArgument error naming the choices for anything else.
StatusOr<DType> ParseKvCacheDType(std::string_view name);
// The flag's spelling of a KV dtype: "f32", "f16", "bf16", "q8_0".
std::string KvCacheDTypeName(DType t);

class KvStorage {
 public:
  // Fails on a bad shape, a dtype that is not a KV dtype, a kv_dim that is
  // not a whole number of the dtype's blocks (Q8_0: 32), or no memory.
  static StatusOr<std::unique_ptr<KvStorage>> Create(Backend& backend, int n_layers, int n_blocks,
                                                     int block_size, int kv_dim,
                                                     DType dtype = DType::kF32);

  // Blocks that fit in `bytes` for this shape (at least 0).
  static int BlocksForBytes(int64_t bytes, int n_layers, int block_size, int kv_dim,
                            DType dtype = DType::kF32);
  // Bytes of one block over all layers, K and V.
  static int64_t BytesPerBlock(int n_layers, int block_size, int kv_dim, DType dtype = DType::kF32);

  // One layer's K (V) cache, [n_blocks, block_size, row_bytes].
  uint8_t* k(int layer) { return k_->data() + layer * layer_bytes_; }
  uint8_t* v(int layer) { return v_->data() + layer * layer_bytes_; }
  // One block of one layer's K (V): block_bytes() bytes. REQUIRES: layer in
  // [0, n_layers), block in [0, n_blocks).
  std::span<uint8_t> KBlock(int layer, int block) {
    return {k(layer) + int64_t{block} * desc_.block_bytes, static_cast<size_t>(desc_.block_bytes)};
  }
  std::span<uint8_t> VBlock(int layer, int block) {
    return {v(layer) + int64_t{block} * desc_.block_bytes, static_cast<size_t>(desc_.block_bytes)};
  }

  const KvStorageDesc& desc() const { return desc_; }
  DType dtype() const { return desc_.dtype; }
  int n_layers() const { return desc_.n_layers; }
  int n_blocks() const { return desc_.n_blocks; }
  int block_size() const { return desc_.block_size; }
  int kv_dim() const { return desc_.kv_dim; }
  int64_t row_bytes() const { return desc_.row_bytes; }
  int64_t block_bytes() const { return desc_.block_bytes; }
  int64_t bytes() const { return 2 * desc_.n_layers * layer_bytes_; }
  // A block's bytes in one layer for callers that move blocks between pools
  // as opaque bytes (src/disagg): K (v == false) or V of `block` in `layer`,
  // block_bytes() long. REQUIRES: layer and block in range.
  uint8_t* block_data(int layer, bool v, int block) { return (v ? VBlock(layer, block) : KBlock(layer, block)).data(); }
  std::string dtype_name() const { return KvCacheDTypeName(desc_.dtype); }

 private:
  KvStorage() = default;

  KvStorageDesc desc_;
  int64_t layer_bytes_ = 0;           // n_blocks * block_bytes
  std::unique_ptr<BackendBuffer> k_;  // [n_layers, layer_bytes_]
  std::unique_ptr<BackendBuffer> v_;
};

}  // namespace kvs
