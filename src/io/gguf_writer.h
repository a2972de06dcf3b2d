// GgufWriter: writes a GGUF version 3 file (little-endian, alignment 32).
//
// Metadata and the tensor table are collected in memory (small); tensor data
// is streamed: WriteFile calls back once per tensor, in declaration order,
// and the callback pushes that tensor's bytes through a TensorSink in as many
// pieces as it likes. So a multi-GB model never needs to be held in memory.
// The file is written under a temporary name and renamed at the end, so a
// failed write leaves no partial file behind.
//
// Thread-safety: none; use from one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "io/gguf_value.h"
#include "tensor/dtype.h"

namespace kvs {

// Receives one tensor's bytes. Writing more than the tensor's size fails.
class TensorSink {
 public:
  virtual ~TensorSink() = default;
  virtual Status Write(const void* data, size_t n) = 0;
};

class GgufWriter {
 public:
  static constexpr uint32_t kAlignment = 32;

  // Metadata setters; setting a key again replaces its value (keeping its
  // position).
  void SetU8(std::string_view key, uint8_t v) { SetScalar(key, GgufType::kU8, v); }
  void SetI8(std::string_view key, int8_t v) { SetScalar(key, GgufType::kI8, v); }
  void SetU16(std::string_view key, uint16_t v) { SetScalar(key, GgufType::kU16, v); }
  void SetI16(std::string_view key, int16_t v) { SetScalar(key, GgufType::kI16, v); }
  void SetU32(std::string_view key, uint32_t v) { SetScalar(key, GgufType::kU32, v); }
  void SetI32(std::string_view key, int32_t v) { SetScalar(key, GgufType::kI32, v); }
  void SetU64(std::string_view key, uint64_t v) { SetScalar(key, GgufType::kU64, v); }
  void SetI64(std::string_view key, int64_t v) { SetScalar(key, GgufType::kI64, v); }
  void SetF32(std::string_view key, float v) { SetScalar(key, GgufType::kF32, v); }
  void SetF64(std::string_view key, double v) { SetScalar(key, GgufType::kF64, v); }
  void SetBool(std::string_view key, bool v) { SetScalar(key, GgufType::kBool, uint8_t{v}); }
  void SetString(std::string_view key, std::string_view v);
  // An array of scalars: n elements of `elem` type, little-endian, at data.
  // REQUIRES: elem is a scalar type.
  void SetScalarArray(std::string_view key, GgufType elem, const void* data, size_t n);
  void SetStringArray(std::string_view key, const std::vector<std::string>& v);
  // Any value read from a GGUF file, nested arrays included.
  void SetValue(std::string_view key, const GgufValue& v);

  // Declares the next tensor. Fails on a duplicate name, 0 or more than 4
  // dims, a non-positive dim, or a row not a multiple of the block size.
  Status AddTensor(std::string_view name, DType type, const std::vector<int64_t>& dims);
  size_t n_tensors() const { return tensors_.size(); }

  using FillFn = std::function<Status(size_t tensor_index, TensorSink& sink)>;
  using ProgressFn = std::function<void(size_t n_done, size_t n_total, uint64_t bytes_done)>;
  // Writes the whole file. `fill` must write exactly each tensor's size.
  Status WriteFile(const std::string& path, const FillFn& fill,
                   const ProgressFn& progress = nullptr) const;
  // The same file as bytes in memory (metadata made on the fly, tests).
  StatusOr<std::vector<uint8_t>> WriteBuffer(const FillFn& fill) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> dims;
    uint64_t offset;
    uint64_t n_bytes;
  };

  template <typename T>
  void SetScalar(std::string_view key, GgufType type, T v) {
    std::string payload(sizeof(T), '\0');
    std::memcpy(payload.data(), &v, sizeof(T));
    Set(key, type, std::move(payload));
  }
  // Stores key -> (type, encoded payload).
  void Set(std::string_view key, GgufType type, std::string payload);
  Status WriteAll(std::FILE* f, const std::string& path, const FillFn& fill,
                  const ProgressFn& progress) const;

  std::vector<std::pair<std::string, std::string>> kvs_;  // key, type + payload
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<Tensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  uint64_t data_size_ = 0;
};

}  // namespace kvs
