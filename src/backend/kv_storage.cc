#include "backend/kv_storage.h"

#include <string>

namespace kvs {

int64_t KvStorage::BytesPerBlock(int n_layers, int block_size, int kv_dim) {
  return 2 * int64_t{n_layers} * block_size * kv_dim * int64_t{sizeof(float)};
}

int KvStorage::BlocksForBytes(int64_t bytes, int n_layers, int block_size, int kv_dim) {
  const int64_t per_block = BytesPerBlock(n_layers, block_size, kv_dim);
  if (per_block <= 0 || bytes <= 0) return 0;
  const int64_t n = bytes / per_block;
  return n > (1 << 30) ? (1 << 30) : static_cast<int>(n);
}

StatusOr<std::unique_ptr<KvStorage>> KvStorage::Create(Backend& backend, int n_layers,
                                                       int n_blocks, int block_size, int kv_dim) {
  if (n_layers <= 0 || n_blocks <= 0 || block_size <= 0 || kv_dim <= 0) {
    return InvalidArgumentError("KV cache needs at least one block (got " +
                                std::to_string(n_blocks) + " blocks of " +
                                std::to_string(block_size) + " tokens)");
  }
  std::unique_ptr<KvStorage> s(new KvStorage());
  s->n_layers_ = n_layers;
  s->n_blocks_ = n_blocks;
  s->block_size_ = block_size;
  s->kv_dim_ = kv_dim;
  s->layer_elems_ = int64_t{n_blocks} * block_size * kv_dim;
  const int64_t total = s->layer_elems_ * n_layers;
  const size_t bytes = static_cast<size_t>(total) * sizeof(float);
  s->k_ = backend.AllocateBuffer(bytes);
  s->v_ = backend.AllocateBuffer(bytes);
  if (!s->k_ || !s->v_) {
    return ResourceExhaustedError("cannot allocate " + std::to_string(s->bytes() >> 20) +
                                  " MiB of KV cache");
  }
  return s;
}

}  // namespace kvs
