#include "backend/kv_storage.h"

#include <cctype>
#include <string>

namespace kvs {

StatusOr<DType> ParseKvCacheDType(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "f32") return DType::kF32;
  if (lower == "f16") return DType::kF16;
  if (lower == "bf16") return DType::kBF16;
  if (lower == "q8_0") return DType::kQ8_0;
  return InvalidArgumentError("unknown KV cache dtype '" + std::string(name) +
                              "' (choose f32, f16, bf16 or q8_0)");
}

std::string KvCacheDTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
    case DType::kQ8_0:
      return "q8_0";
    default:
      return std::string(DTypeName(t));
  }
}

int64_t KvStorage::BytesPerBlock(int n_layers, int block_size, int kv_dim, DType dtype) {
  if (!IsKvCacheDType(dtype) || kv_dim <= 0 || kv_dim % BlockElems(dtype) != 0) return 0;
  return 2 * int64_t{n_layers} * block_size * KvRowBytes(dtype, kv_dim);
}

int KvStorage::BlocksForBytes(int64_t bytes, int n_layers, int block_size, int kv_dim,
                              DType dtype) {
  const int64_t per_block = BytesPerBlock(n_layers, block_size, kv_dim, dtype);
  if (per_block <= 0 || bytes <= 0) return 0;
  const int64_t n = bytes / per_block;
  return n > (1 << 30) ? (1 << 30) : static_cast<int>(n);
}

StatusOr<std::unique_ptr<KvStorage>> KvStorage::Create(Backend& backend, int n_layers, int n_blocks,
                                                       int block_size, int kv_dim, DType dtype) {
  if (n_layers <= 0 || n_blocks <= 0 || block_size <= 0 || kv_dim <= 0) {
    return InvalidArgumentError("KV cache needs at least one block (got " +
                                std::to_string(n_blocks) + " blocks of " +
                                std::to_string(block_size) + " tokens)");
  }
  if (!IsKvCacheDType(dtype)) {
    return InvalidArgumentError("a KV cache cannot hold " + std::string(DTypeName(dtype)) +
                                " (choose f32, f16, bf16 or q8_0)");
  }
  if (kv_dim % BlockElems(dtype) != 0) {
    return InvalidArgumentError("a " + KvCacheDTypeName(dtype) + " KV cache needs rows of a " +
                                "multiple of " + std::to_string(BlockElems(dtype)) +
                                " values; this model's K/V rows have " + std::to_string(kv_dim));
  }
  std::unique_ptr<KvStorage> s(new KvStorage());
  KvStorageDesc& d = s->desc_;
  d.dtype = dtype;
  d.n_layers = n_layers;
  d.n_blocks = n_blocks;
  d.block_size = block_size;
  d.kv_dim = kv_dim;
  d.row_bytes = KvRowBytes(dtype, kv_dim);
  d.block_bytes = int64_t{block_size} * d.row_bytes;
  s->layer_bytes_ = int64_t{n_blocks} * d.block_bytes;
  const size_t bytes = static_cast<size_t>(s->layer_bytes_ * n_layers);
  s->k_ = backend.AllocateBuffer(bytes);
  s->v_ = backend.AllocateBuffer(bytes);
  if (!s->k_ || !s->v_) {
    return ResourceExhaustedError("cannot allocate " + std::to_string(s->bytes() >> 20) +
                                  " MiB of KV cache");
  }
  return s;
}

}  // namespace kvs
