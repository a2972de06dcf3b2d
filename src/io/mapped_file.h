// MappedFile: a whole file mapped read-only into memory.
//
// Why: model weights are read in place (no copy, pages shared with the page
// cache, loaded lazily by the kernel); tensors are views into the mapping.
// Ownership: the MappedFile owns the mapping; every pointer into data() is
// valid until it is destroyed. Thread-safety: immutable after Open, safe to
// read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace kvs {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to data() == nullptr, size 0.
  // Errors name the path and the system's reason (errno text).
  static StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Tells the kernel that [p, p + n) will not be read for a while: the whole
  // pages inside it leave this process's memory (the page cache keeps them;
  // a later read maps them back in). For data a caller has copied out, e.g.
  // weights a backend repacked. Bytes outside the mapping are ignored.
  void DropPages(const void* p, size_t n) const;

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace kvs
