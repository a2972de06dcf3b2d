// KvStorage: the physical KV cache, one preallocated pool shared by every
// sequence. Which block belongs to whom is the KvCacheManager's business;
// this only holds the numbers.
//
// Layout per layer: k and v each [n_blocks, block_size, n_kv_heads, head_dim]
// float32. Ownership: owns the memory, allocated once at creation by the
// backend whose ops read it (Backend::AllocateBuffer: zeroed, so resident;
// the CPU backends put it on huge pages, since attention reads each
// sequence's blocks every step, scattered over the pool).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"

namespace kvs {

class KvStorage {
 public:
  static StatusOr<std::unique_ptr<KvStorage>> Create(Backend& backend, int n_layers,
                                                     int n_blocks, int block_size, int kv_dim);

  // Blocks that fit in `bytes` for this shape (at least 0).
  static int BlocksForBytes(int64_t bytes, int n_layers, int block_size, int kv_dim);
  static int64_t BytesPerBlock(int n_layers, int block_size, int kv_dim);

  float* k(int layer) { return reinterpret_cast<float*>(k_->data()) + layer * layer_elems_; }
  float* v(int layer) { return reinterpret_cast<float*>(v_->data()) + layer * layer_elems_; }
  // A block's bytes in one layer, opaque to callers that move blocks
  // between pools (src/disagg): K (v == false) or V of `block` in `layer`,
  // block_bytes() long. REQUIRES: layer and block in range.
  uint8_t* block_data(int layer, bool v, int block) {
    return reinterpret_cast<uint8_t*>(v ? this->v(layer) : k(layer)) + block * block_bytes();
  }
  int64_t block_bytes() const { return block_elems() * int64_t{sizeof(float)}; }
  const char* dtype_name() const { return "f32"; }
  int n_layers() const { return n_layers_; }
  int n_blocks() const { return n_blocks_; }
  int block_size() const { return block_size_; }
  int kv_dim() const { return kv_dim_; }
  int64_t block_elems() const { return int64_t{block_size_} * kv_dim_; }
  int64_t bytes() const { return 2 * n_layers_ * layer_elems_ * int64_t{sizeof(float)}; }

 private:
  KvStorage() = default;

  int n_layers_ = 0;
  int n_blocks_ = 0;
  int block_size_ = 0;
  int kv_dim_ = 0;
  int64_t layer_elems_ = 0;
  std::unique_ptr<BackendBuffer> k_;  // [n_layers, layer_elems_] floats
  std::unique_ptr<BackendBuffer> v_;
};

}  // namespace kvs
