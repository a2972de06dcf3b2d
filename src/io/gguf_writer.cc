#include "io/gguf_writer.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace kvs {
namespace {

template <typename T>
void Append(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void AppendString(std::string* out, std::string_view s) {
  Append<uint64_t>(out, s.size());
  out->append(s);
}

void EncodeArray(std::string* out, const GgufValue& v);

// Encodes a value's payload (what follows its type number).
void EncodeValue(std::string* out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kString: AppendString(out, v.str); return;
    case GgufType::kArray: EncodeArray(out, v); return;
    default: out->append(reinterpret_cast<const char*>(&v.bits), GgufScalarBytes(v.type)); return;
  }
}

void EncodeArray(std::string* out, const GgufValue& v) {
  Append<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
  Append<uint64_t>(out, v.n_elems);
  if (v.elem_type == GgufType::kString) {
    for (std::string_view s : v.strs) AppendString(out, s);
  } else if (v.elem_type == GgufType::kArray) {
    for (const GgufValue& a : v.arrays) EncodeArray(out, a);
  } else {
    out->append(reinterpret_cast<const char*>(v.raw), v.n_elems * GgufScalarBytes(v.elem_type));
  }
}

uint64_t AlignUp(uint64_t n) {
  return (n + GgufWriter::kAlignment - 1) / GgufWriter::kAlignment * GgufWriter::kAlignment;
}

Status WriteError(const std::string& path) {
  return IoError("cannot write '" + path + "': " + std::strerror(errno));
}

class FileSink : public TensorSink {
 public:
  FileSink(std::FILE* f, const std::string& path, std::string_view tensor, uint64_t n_bytes)
      : f_(f), path_(path), tensor_(tensor), left_(n_bytes) {}

  Status Write(const void* data, size_t n) override {
    if (n > left_) {
      return InvalidArgumentError("tensor '" + tensor_ + "': " + std::to_string(n) +
                                  " more bytes written but only " + std::to_string(left_) +
                                  " remain of its size");
    }
    if (n > 0 && std::fwrite(data, 1, n, f_) != n) return WriteError(path_);
    left_ -= n;
    return Status::Ok();
  }
  uint64_t left() const { return left_; }

 private:
  std::FILE* f_;
  const std::string& path_;
  std::string tensor_;
  uint64_t left_;
};

}  // namespace

void GgufWriter::Set(std::string_view key, GgufType type, std::string payload) {
  std::string encoded;
  Append<uint32_t>(&encoded, static_cast<uint32_t>(type));
  encoded += payload;
  auto [it, inserted] = kv_index_.emplace(std::string(key), kvs_.size());
  if (inserted) {
    kvs_.emplace_back(std::string(key), std::move(encoded));
  } else {
    kvs_[it->second].second = std::move(encoded);
  }
}

void GgufWriter::SetString(std::string_view key, std::string_view v) {
  std::string payload;
  AppendString(&payload, v);
  Set(key, GgufType::kString, std::move(payload));
}

void GgufWriter::SetScalarArray(std::string_view key, GgufType elem, const void* data, size_t n) {
  KVS_CHECK(GgufScalarBytes(elem) > 0) << "SetScalarArray with non-scalar type " << GgufTypeName(elem);
  std::string payload;
  Append<uint32_t>(&payload, static_cast<uint32_t>(elem));
  Append<uint64_t>(&payload, n);
  payload.append(static_cast<const char*>(data), n * GgufScalarBytes(elem));
  Set(key, GgufType::kArray, std::move(payload));
}

void GgufWriter::SetStringArray(std::string_view key, const std::vector<std::string>& v) {
  std::string payload;
  Append<uint32_t>(&payload, static_cast<uint32_t>(GgufType::kString));
  Append<uint64_t>(&payload, v.size());
  for (const std::string& s : v) AppendString(&payload, s);
  Set(key, GgufType::kArray, std::move(payload));
}

void GgufWriter::SetValue(std::string_view key, const GgufValue& v) {
  std::string payload;
  EncodeValue(&payload, v);
  Set(key, v.type, std::move(payload));
}

Status GgufWriter::AddTensor(std::string_view name, DType type, const std::vector<int64_t>& dims) {
  const std::string n(name);
  if (dims.empty() || dims.size() > 4) {
    return InvalidArgumentError("tensor '" + n + "' has " + std::to_string(dims.size()) +
                                " dims (1 to 4 allowed)");
  }
  int64_t n_elements = 1;
  for (int64_t d : dims) {
    if (d <= 0) return InvalidArgumentError("tensor '" + n + "' has dim " + std::to_string(d));
    n_elements *= d;
  }
  if (dims[0] % BlockElems(type) != 0) {
    return InvalidArgumentError("tensor '" + n + "' row length " + std::to_string(dims[0]) +
                                " is not a multiple of the " + std::string(DTypeName(type)) +
                                " block size " + std::to_string(BlockElems(type)));
  }
  if (!tensor_index_.emplace(n, tensors_.size()).second) {
    return InvalidArgumentError("duplicate tensor name '" + n + "'");
  }
  const uint64_t n_bytes = static_cast<uint64_t>(n_elements / BlockElems(type) * BlockBytes(type));
  tensors_.push_back(Tensor{n, type, dims, data_size_, n_bytes});
  data_size_ = AlignUp(data_size_ + n_bytes);
  return Status::Ok();
}

Status GgufWriter::WriteFile(const std::string& path, const FillFn& fill,
                             const ProgressFn& progress) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return IoError("cannot create '" + tmp + "': " + std::strerror(errno));
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  Status s = WriteAll(f, tmp, fill, progress);
  if (std::fclose(f) != 0 && s.ok()) s = WriteError(tmp);
  if (s.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    s = IoError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
  if (!s.ok()) std::remove(tmp.c_str());
  return s;
}

StatusOr<std::vector<uint8_t>> GgufWriter::WriteBuffer(const FillFn& fill) const {
  char* bytes = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&bytes, &size);
  if (f == nullptr) return IoError(std::string("open_memstream: ") + std::strerror(errno));
  Status s = WriteAll(f, "<memory>", fill, nullptr);
  if (std::fclose(f) != 0 && s.ok()) s = WriteError("<memory>");
  std::vector<uint8_t> out;
  if (s.ok()) out.assign(bytes, bytes + size);
  std::free(bytes);
  if (!s.ok()) return s;
  return out;
}

Status GgufWriter::WriteAll(std::FILE* f, const std::string& path, const FillFn& fill,
                            const ProgressFn& progress) const {
  std::string head = "GGUF";
  Append<uint32_t>(&head, 3);
  Append<uint64_t>(&head, tensors_.size());
  Append<uint64_t>(&head, kvs_.size());
  for (const auto& [key, encoded] : kvs_) {
    AppendString(&head, key);
    head += encoded;
  }
  for (const Tensor& t : tensors_) {
    AppendString(&head, t.name);
    Append<uint32_t>(&head, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) Append<uint64_t>(&head, static_cast<uint64_t>(d));
    Append<uint32_t>(&head, static_cast<uint32_t>(t.type));
    Append<uint64_t>(&head, t.offset);
  }
  head.resize(AlignUp(head.size()), '\0');
  if (std::fwrite(head.data(), 1, head.size(), f) != head.size()) return WriteError(path);

  static constexpr char kZeros[kAlignment] = {};
  uint64_t pos = 0;  // within the data section
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    if (t.offset > pos && std::fwrite(kZeros, 1, t.offset - pos, f) != t.offset - pos) {
      return WriteError(path);
    }
    FileSink sink(f, path, t.name, t.n_bytes);
    KVS_RETURN_IF_ERROR(fill(i, sink));
    if (sink.left() != 0) {
      return InternalError("tensor '" + t.name + "': " + std::to_string(sink.left()) + " of " +
                           std::to_string(t.n_bytes) + " bytes were not written");
    }
    pos = t.offset + t.n_bytes;
    if (progress) progress(i + 1, tensors_.size(), pos);
  }
  return Status::Ok();
}

}  // namespace kvs
