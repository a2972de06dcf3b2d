// SafetensorsFile: one parsed .safetensors file (Hugging Face's format): an
// 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the data.
//
// Every check is made up front, so a hostile or damaged file gives a Status
// naming the problem, never a crash or an out-of-bounds read: the header's
// length within the file and under kMaxHeaderBytes, its JSON nesting depth
// (checked before parsing, which recurses), each entry's fields and types,
// dtypes kvserve reads (F32, F16, BF16; any other is named), shape times
// element size equal to the byte range, and ranges that tile the data
// section exactly (in bounds, no overlap, no hole), as the format requires.
//
// Tensors keep their Hugging Face names; dims are in GGUF order (innermost
// first, the reverse of the header's shape) so that TensorInfo means the
// same whatever the format.
//
// Ownership: owns the bytes (a MappedFile or a buffer); TensorInfo::data
// points into them for the SafetensorsFile's lifetime. Thread-safety:
// immutable after Open.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "io/mapped_file.h"
#include "io/tensor_info.h"

namespace kvs {

class SafetensorsFile {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100 << 20;  // as Hugging Face's reader
  static constexpr int kMaxHeaderDepth = 8;  // the format needs 3

  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  // An in-memory file (tests, fuzzing); `name` is used in messages.
  static StatusOr<std::unique_ptr<SafetensorsFile>> OpenBuffer(std::vector<uint8_t> bytes,
                                                               std::string name = "<memory>");

  const std::string& name() const { return name_; }
  // In header order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;
  // The header's "__metadata__" (string to string), empty if none.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  void DropPages(const void* p, size_t n) const {
    if (mapping_) mapping_->DropPages(p, n);
  }

 private:
  SafetensorsFile() = default;
  Status Parse();

  std::string name_;
  std::unique_ptr<MappedFile> mapping_;  // one of mapping_ / buffer_ holds the bytes
  std::vector<uint8_t> buffer_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> by_name_;  // views into tensors_[i].name
  std::map<std::string, std::string> metadata_;
};

// Deepest nesting of arrays and objects in `json` text, found without
// parsing (strings and escapes skipped); stops counting past `limit` and
// returns limit + 1. For refusing hostile input before a recursive parser
// sees it.
int JsonNestingDepth(std::string_view json, int limit);

}  // namespace kvs
