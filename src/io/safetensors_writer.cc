#include "io/safetensors_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

namespace kvs {
namespace {

const char* DTypeText(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    default: return nullptr;
  }
}

class FileSink : public TensorSink {
 public:
  FileSink(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  Status Write(const void* data, size_t n) override {
    if (std::fwrite(data, 1, n, f_) != n) return IoError("write to '" + path_ + "' failed");
    written_ += n;
    return Status::Ok();
  }
  uint64_t written() const { return written_; }

 private:
  std::FILE* f_;
  std::string path_;
  uint64_t written_ = 0;
};

}  // namespace

Status SafetensorsWriter::AddTensor(const std::string& name, DType type,
                                    const std::vector<int64_t>& dims) {
  if (DTypeText(type) == nullptr) {
    return InvalidArgumentError("safetensors: tensor '" + name + "' type " +
                                std::string(DTypeName(type)) + " (F32, F16, BF16 only)");
  }
  if (dims.empty()) return InvalidArgumentError("safetensors: tensor '" + name + "' has no dims");
  uint64_t n = 1;
  for (int64_t d : dims) {
    if (d <= 0) return InvalidArgumentError("safetensors: tensor '" + name + "' has a dim <= 0");
    n *= static_cast<uint64_t>(d);
  }
  tensors_.push_back({name, type, dims, n * (type == DType::kF32 ? 4 : 2)});
  return Status::Ok();
}

Status SafetensorsWriter::WriteFile(const std::string& path, const GgufWriter::FillFn& fill) const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t at = 0;
  for (const Tensor& t : tensors_) {
    std::vector<int64_t> shape(t.dims.rbegin(), t.dims.rend());
    header[t.name] = {{"dtype", DTypeText(t.type)}, {"shape", shape}, {"data_offsets", {at, at + t.n_bytes}}};
    at += t.n_bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError("cannot create '" + path + "': " + std::strerror(errno));
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  FileSink sink(f, path);
  Status s = sink.Write(len, 8);
  if (s.ok()) s = sink.Write(text.data(), text.size());
  for (size_t i = 0; s.ok() && i < tensors_.size(); ++i) {
    const uint64_t before = sink.written();
    s = fill(i, sink);
    if (s.ok() && sink.written() - before != tensors_[i].n_bytes) {
      s = InternalError("safetensors: tensor '" + tensors_[i].name + "' got " +
                        std::to_string(sink.written() - before) + " bytes, expected " +
                        std::to_string(tensors_[i].n_bytes));
    }
  }
  if (std::fclose(f) != 0 && s.ok()) s = IoError("closing '" + path + "' failed");
  if (!s.ok()) std::remove(path.c_str());
  return s;
}

}  // namespace kvs
