// GgufFile: a parsed GGUF (version 2 or 3) model file: metadata, tensor
// table and data section (see docs/formats.md for the subset we read).
//
// Every read is bounds-checked; a truncated, corrupt or hostile file gives a
// non-OK Status whose message names the problem and the byte offset, never a
// crash or an out-of-bounds read. Open validates everything up front, so
// accessors cannot fail except on a missing key or a wrong type.
//
// Ownership: the GgufFile owns the bytes (a MappedFile or an in-memory
// buffer); metadata strings and TensorInfo::data point into them and are
// valid for its lifetime. Thread-safety: immutable after Open.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "io/gguf_value.h"
#include "io/mapped_file.h"
#include "io/tensor_info.h"

namespace kvs {

class GgufFile {
 public:
  static constexpr uint32_t kDefaultAlignment = 32;

  // Maps and parses the file at `path`.
  static StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Parses an in-memory file (tests, fuzzing); `name` is used in messages.
  static StatusOr<std::unique_ptr<GgufFile>> OpenBuffer(std::vector<uint8_t> bytes,
                                                        std::string name = "<memory>");

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the data section
  size_t file_size() const { return size_; }

  // All key/value pairs in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  // Null when absent.
  const GgufValue* Find(std::string_view key) const;

  // Typed lookups: NotFound when absent, InvalidArgument naming the key and
  // the actual type when the value does not convert.
  StatusOr<std::string> GetString(std::string_view key) const;
  StatusOr<uint32_t> GetU32(std::string_view key) const;  // any integer type that fits
  StatusOr<uint64_t> GetU64(std::string_view key) const;  // any non-negative integer
  StatusOr<float> GetF32(std::string_view key) const;     // f32 or f64
  StatusOr<bool> GetBool(std::string_view key) const;
  StatusOr<std::vector<std::string>> GetStringArray(std::string_view key) const;
  StatusOr<std::vector<float>> GetF32Array(std::string_view key) const;    // f32/f64 elements
  StatusOr<std::vector<int32_t>> GetI32Array(std::string_view key) const;  // integers that fit

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;
  // MappedFile::DropPages when the bytes are a file mapping; else nothing.
  void DropPages(const void* p, size_t n) const {
    if (mapping_) mapping_->DropPages(p, n);
  }

 private:
  GgufFile() = default;
  static StatusOr<std::unique_ptr<GgufFile>> Parse(std::unique_ptr<GgufFile> file);
  StatusOr<const GgufValue*> FindOrError(std::string_view key) const;
  Status TypeError(std::string_view key, const GgufValue& v, std::string_view wanted) const;

  std::string name_;
  std::unique_ptr<MappedFile> mapping_;  // one of mapping_ / buffer_ holds the bytes
  std::vector<uint8_t> buffer_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;

  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string_view, size_t> key_index_;  // views of metadata_ keys
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;  // views of tensors_ names
};

}  // namespace kvs
