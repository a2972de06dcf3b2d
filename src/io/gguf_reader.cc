#include "io/gguf_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace kvs {
namespace {

constexpr uint32_t kMaxDims = 4;        // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;       // nested arrays deeper than this are rejected
constexpr uint64_t kMaxReserve = 1 << 16;  // entries reserved before parsing them
constexpr size_t kMinKvBytes = 8 + 4 + 1;               // empty key, type, u8 value
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;   // empty name, n_dims 0, type, offset

// Bounds-checked little-endian reads over [data, data + size). Every error
// says what was being read and at which offset.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }

  Status Error(std::string_view what) const {
    return DataLossError("at offset " + std::to_string(pos_) + ": " + std::string(what));
  }

  template <typename T>
  Status Read(T* out, std::string_view what) {
    if (left() < sizeof(T)) {
      return Error("truncated reading " + std::string(what) + " (" + std::to_string(sizeof(T)) +
                   " bytes needed, " + std::to_string(left()) + " left)");
    }
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  // Returns a pointer to the next n bytes and skips them.
  Status Take(uint64_t n, const uint8_t** out, std::string_view what) {
    if (n > left()) {
      return Error(std::string(what) + " of " + std::to_string(n) + " bytes runs past the end (" +
                   std::to_string(left()) + " bytes left)");
    }
    *out = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return Status::Ok();
  }

  Status ReadString(std::string_view* out, std::string_view what) {
    uint64_t len;
    KVS_RETURN_IF_ERROR(Read(&len, std::string(what) + " length"));
    const uint8_t* p;
    KVS_RETURN_IF_ERROR(Take(len, &p, std::string(what) + " string"));
    *out = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
    return Status::Ok();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

Status ReadValue(Cursor& c, GgufType type, GgufValue* v, int depth);

Status ReadArray(Cursor& c, GgufValue* v, int depth) {
  if (depth >= kMaxArrayDepth) return c.Error("arrays nested deeper than " + std::to_string(kMaxArrayDepth));
  uint32_t elem_type_num;
  KVS_RETURN_IF_ERROR(c.Read(&elem_type_num, "array element type"));
  const auto elem_type = GgufTypeFromNumber(elem_type_num);
  if (!elem_type) return c.Error("unknown array element type " + std::to_string(elem_type_num));
  v->elem_type = *elem_type;
  KVS_RETURN_IF_ERROR(c.Read(&v->n_elems, "array length"));
  // Every element takes at least this many bytes, so a count the rest of
  // the file cannot hold is rejected before anything is allocated.
  const size_t min_elem = *elem_type == GgufType::kString  ? 8
                          : *elem_type == GgufType::kArray ? 12
                                                           : GgufScalarBytes(*elem_type);
  if (v->n_elems > c.left() / min_elem) {
    return c.Error("array of " + std::to_string(v->n_elems) + " " +
                   std::string(GgufTypeName(*elem_type)) + " elements runs past the end (" +
                   std::to_string(c.left()) + " bytes left)");
  }
  // Containers grow as elements are actually parsed, so memory stays
  // proportional to the bytes read, whatever the declared count.
  if (*elem_type == GgufType::kString) {
    v->strs.reserve(std::min<uint64_t>(v->n_elems, kMaxReserve));
    for (uint64_t i = 0; i < v->n_elems; ++i) {
      KVS_RETURN_IF_ERROR(c.ReadString(&v->strs.emplace_back(), "array element"));
    }
  } else if (*elem_type == GgufType::kArray) {
    v->arrays.reserve(std::min<uint64_t>(v->n_elems, kMaxReserve));
    for (uint64_t i = 0; i < v->n_elems; ++i) {
      GgufValue& a = v->arrays.emplace_back();
      a.type = GgufType::kArray;
      KVS_RETURN_IF_ERROR(ReadArray(c, &a, depth + 1));
    }
  } else {
    KVS_RETURN_IF_ERROR(c.Take(v->n_elems * min_elem, &v->raw, "array payload"));
  }
  return Status::Ok();
}

Status ReadValue(Cursor& c, GgufType type, GgufValue* v, int depth) {
  v->type = type;
  switch (type) {
    case GgufType::kString: return c.ReadString(&v->str, "string value");
    case GgufType::kArray: return ReadArray(c, v, depth);
    default: {
      const uint8_t* p;
      KVS_RETURN_IF_ERROR(c.Take(GgufScalarBytes(type), &p, GgufTypeName(type)));
      std::memcpy(&v->bits, p, GgufScalarBytes(type));
      if (type == GgufType::kBool && v->bits > 1) {
        return c.Error("bool value " + std::to_string(v->bits) + " is neither 0 nor 1");
      }
      return Status::Ok();
    }
  }
}

// Parses one tensor info; data pointers are filled in later, once the data
// section's start is known.
Status ReadTensorInfo(Cursor& c, TensorInfo* t) {
  std::string_view name;
  KVS_RETURN_IF_ERROR(c.ReadString(&name, "tensor name"));
  t->name = std::string(name);
  const std::string tensor = "tensor '" + t->name + "'";
  uint32_t n_dims;
  KVS_RETURN_IF_ERROR(c.Read(&n_dims, "n_dims of " + tensor));
  if (n_dims == 0 || n_dims > kMaxDims) {
    return c.Error(tensor + " has " + std::to_string(n_dims) + " dims (1 to " +
                   std::to_string(kMaxDims) + " allowed)");
  }
  int64_t n_elements = 1;
  for (uint32_t i = 0; i < n_dims; ++i) {
    uint64_t d;
    KVS_RETURN_IF_ERROR(c.Read(&d, "dims of " + tensor));
    if (d == 0 || d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return c.Error(tensor + " has invalid dim " + std::to_string(d));
    }
    if (static_cast<int64_t>(d) > std::numeric_limits<int64_t>::max() / n_elements) {
      return c.Error(tensor + " element count overflows (dims too large)");
    }
    n_elements *= static_cast<int64_t>(d);
    t->dims.push_back(static_cast<int64_t>(d));
  }
  uint32_t type_num;
  KVS_RETURN_IF_ERROR(c.Read(&type_num, "type of " + tensor));
  const auto type = DTypeFromGgml(type_num);
  if (!type) {
    const std::string_view name = GgmlTypeName(type_num);
    return c.Error(tensor + " has unsupported tensor type " + std::to_string(type_num) +
                   (name.empty() ? std::string(" (not a ggml type)")
                                 : " (ggml's " + std::string(name) + ", which kvserve does not read)"));
  }
  t->type = *type;
  if (t->dims[0] % BlockElems(t->type) != 0) {
    return c.Error(tensor + " row length " + std::to_string(t->dims[0]) +
                   " is not a multiple of the " + std::string(DTypeName(t->type)) +
                   " block size " + std::to_string(BlockElems(t->type)));
  }
  // n_elements / BlockElems * BlockBytes cannot overflow: BlockBytes <=
  // 4 * BlockElems, so bytes <= 4 * n_elements; check that bound.
  if (n_elements > std::numeric_limits<int64_t>::max() / 4) {
    return c.Error(tensor + " byte size overflows");
  }
  t->n_bytes = static_cast<size_t>(n_elements / BlockElems(t->type) * BlockBytes(t->type));
  KVS_RETURN_IF_ERROR(c.Read(&t->offset, "data offset of " + tensor));
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  KVS_ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->name_ = path;
  file->data_ = mapping->data();
  file->size_ = mapping->size();
  file->mapping_ = std::move(mapping);
  return Parse(std::move(file));
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::OpenBuffer(std::vector<uint8_t> bytes,
                                                         std::string name) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->name_ = std::move(name);
  file->buffer_ = std::move(bytes);
  file->data_ = file->buffer_.data();
  file->size_ = file->buffer_.size();
  return Parse(std::move(file));
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Parse(std::unique_ptr<GgufFile> f) {
  const std::string where = "GGUF file '" + f->name_ + "'";
  Cursor c(f->data_, f->size_);
  auto fail = [&](const Status& s) { return s.WithContext(where); };

  char magic[4];
  if (Status s = c.Read(&magic, "magic"); !s.ok()) return fail(s);
  if (std::memcmp(magic, "GGUF", 4) != 0) return fail(c.Error("bad magic: not a GGUF file"));
  if (Status s = c.Read(&f->version_, "version"); !s.ok()) return fail(s);
  if (f->version_ != 2 && f->version_ != 3) {
    return fail(UnimplementedError("unsupported GGUF version " + std::to_string(f->version_) +
                                   " (2 and 3 are supported)"));
  }
  uint64_t n_tensors, n_kv;
  if (Status s = c.Read(&n_tensors, "tensor count"); !s.ok()) return fail(s);
  if (Status s = c.Read(&n_kv, "metadata count"); !s.ok()) return fail(s);
  if (n_kv > c.left() / kMinKvBytes) {
    return fail(c.Error("metadata count " + std::to_string(n_kv) + " too large for the " +
                        std::to_string(c.left()) + " bytes left"));
  }
  if (n_tensors > c.left() / kMinTensorInfoBytes) {
    return fail(c.Error("tensor count " + std::to_string(n_tensors) + " too large for the " +
                        std::to_string(c.left()) + " bytes left"));
  }

  f->metadata_.reserve(std::min(n_kv, kMaxReserve));
  for (uint64_t i = 0; i < n_kv; ++i) {
    auto& [key, value] = f->metadata_.emplace_back();
    std::string_view k;
    if (Status s = c.ReadString(&k, "metadata key"); !s.ok()) return fail(s);
    key = std::string(k);
    uint32_t type_num;
    if (Status s = c.Read(&type_num, "value type of '" + key + "'"); !s.ok()) return fail(s);
    const auto type = GgufTypeFromNumber(type_num);
    if (!type) {
      return fail(c.Error("unknown value type " + std::to_string(type_num) + " for key '" + key + "'"));
    }
    if (Status s = ReadValue(c, *type, &value, 0); !s.ok()) {
      return fail(s.WithContext("key '" + key + "'"));
    }
  }
  for (size_t i = 0; i < f->metadata_.size(); ++i) {
    if (!f->key_index_.emplace(f->metadata_[i].first, i).second) {
      return fail(DataLossError("duplicate metadata key '" + f->metadata_[i].first + "'"));
    }
  }
  if (const GgufValue* a = f->Find("general.alignment")) {
    const auto v = a->AsInt();
    if (!v || *v <= 0 || *v > (1 << 30) || (*v & (*v - 1)) != 0) {
      return fail(DataLossError("general.alignment " + a->ToString() +
                                " is not a power of two integer"));
    }
    f->alignment_ = static_cast<uint32_t>(*v);
  }

  f->tensors_.reserve(std::min(n_tensors, kMaxReserve));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo& t = f->tensors_.emplace_back();
    if (Status s = ReadTensorInfo(c, &t); !s.ok()) return fail(s);
    if (t.offset % f->alignment_ != 0) {
      return fail(c.Error("tensor '" + t.name + "' data offset " + std::to_string(t.offset) +
                          " is not a multiple of the alignment " + std::to_string(f->alignment_)));
    }
  }
  // The data section starts at the next multiple of the alignment.
  const uint64_t data_offset = (c.pos() + f->alignment_ - 1) / f->alignment_ * f->alignment_;
  f->data_offset_ = data_offset;
  for (auto& t : f->tensors_) {
    const uint64_t avail = f->size_ >= data_offset ? f->size_ - data_offset : 0;
    if (t.offset > avail || t.n_bytes > avail - t.offset) {
      return fail(DataLossError("tensor '" + t.name + "' data [" + std::to_string(t.offset) + ", +" +
                                std::to_string(t.n_bytes) + ") runs past the end of the file (" +
                                std::to_string(avail) + " data bytes from offset " +
                                std::to_string(data_offset) + ")"));
    }
    t.data = f->data_ + data_offset + t.offset;
  }
  for (size_t i = 0; i < f->tensors_.size(); ++i) {
    if (!f->tensor_index_.emplace(f->tensors_[i].name, i).second) {
      return fail(DataLossError("duplicate tensor name '" + f->tensors_[i].name + "'"));
    }
  }
  return f;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].second;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

StatusOr<const GgufValue*> GgufFile::FindOrError(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundError("GGUF file '" + name_ + "' has no key '" + std::string(key) + "'");
  return v;
}

Status GgufFile::TypeError(std::string_view key, const GgufValue& v, std::string_view wanted) const {
  std::string actual(GgufTypeName(v.type));
  if (v.type == GgufType::kArray) actual += " of " + std::string(GgufTypeName(v.elem_type));
  return InvalidArgumentError("GGUF file '" + name_ + "': key '" + std::string(key) + "' is " +
                              actual + " = " + v.ToString(4) + ", wanted " + std::string(wanted));
}

StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  KVS_ASSIGN_OR_RETURN(const GgufValue* v, FindOrError(key));
  if (v->type != GgufType::kString) return TypeError(key, *v, "string");
  return std::string(v->str);
}

StatusOr<uint32_t> GgufFile::GetU32(std::string_view key) const {
  KVS_ASSIGN_OR_RETURN(const GgufValue* v, FindOrError(key));
  const auto i = v->AsInt();
  if (!i || *i < 0 || *i > std::numeric_limits<uint32_t>::max()) {
    return TypeError(key, *v, "an integer in u32 range");
  }
  return static_cast<uint32_t>(*i);
}

StatusOr<uint64_t> GgufFile::GetU64(std::string_view key) const {
  KVS_ASSIGN_OR_RETURN(const GgufValue* v, FindOrError(key));
  if (v->type == GgufType::kU64) return v->bits;
  const auto i = v->AsInt();
  if (!i || *i < 0) return TypeError(key, *v, "a non-negative integer");
  return static_cast<uint64_t>(*i);
}

StatusOr<float> GgufFile::GetF32(std::string_view key) const {
  KVS_ASSIGN_OR_RETURN(const GgufValue* v, FindOrError(key));
  if (v->type != GgufType::kF32 && v->type != GgufType::kF64) return TypeError(key, *v, "f32 or f64");
  return static_cast<float>(*v->AsDouble());
}

StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  KVS_ASSIGN_OR_RETURN(const GgufValue* v, FindOrError(key));
  if (v->type != GgufType::kBool) return TypeError(key, *v, "bool");
  return v->bits != 0;
}

StatusOr<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  KVS_ASSIGN_OR_RETURN(const GgufValue* v, FindOrError(key));
  if (v->type != GgufType::kArray || v->elem_type != GgufType::kString) {
    return TypeError(key, *v, "array of string");
  }
  return std::vector<std::string>(v->strs.begin(), v->strs.end());
}

StatusOr<std::vector<float>> GgufFile::GetF32Array(std::string_view key) const {
  KVS_ASSIGN_OR_RETURN(const GgufValue* v, FindOrError(key));
  if (v->type != GgufType::kArray ||
      (v->elem_type != GgufType::kF32 && v->elem_type != GgufType::kF64)) {
    return TypeError(key, *v, "array of f32");
  }
  std::vector<float> out(v->n_elems);
  for (uint64_t i = 0; i < v->n_elems; ++i) out[i] = static_cast<float>(*v->ElemAsDouble(i));
  return out;
}

StatusOr<std::vector<int32_t>> GgufFile::GetI32Array(std::string_view key) const {
  KVS_ASSIGN_OR_RETURN(const GgufValue* v, FindOrError(key));
  if (v->type != GgufType::kArray || !GgufIsInteger(v->elem_type)) {
    return TypeError(key, *v, "array of i32");
  }
  std::vector<int32_t> out(v->n_elems);
  for (uint64_t i = 0; i < v->n_elems; ++i) {
    const auto e = v->ElemAsInt(i);
    if (!e || *e < std::numeric_limits<int32_t>::min() || *e > std::numeric_limits<int32_t>::max()) {
      return InvalidArgumentError("GGUF file '" + name_ + "': key '" + std::string(key) +
                                  "' element " + std::to_string(i) + " does not fit in i32");
    }
    out[i] = static_cast<int32_t>(*e);
  }
  return out;
}

}  // namespace kvs
