#include "io/safetensors_reader.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace kvs {
namespace {

using Json = nlohmann::json;

struct DTypeInfo {
  const char* name;
  DType type;
  int bytes;
};
constexpr DTypeInfo kDTypes[] = {
    {"F32", DType::kF32, 4}, {"F16", DType::kF16, 2}, {"BF16", DType::kBF16, 2}};

// The format's other dtypes: named in errors as known but not read here.
constexpr const char* kOtherDTypes[] = {"F64", "I64", "I32", "I16", "I8", "U8", "U16", "U32",
                                        "U64", "BOOL", "F8_E4M3", "F8_E5M2", "F4", "F6_E2M3",
                                        "F6_E3M2", "E8M0", "C64"};

}  // namespace

int JsonNestingDepth(std::string_view json, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return limit + 1;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->name_ = path;
  KVS_ASSIGN_OR_RETURN(f->mapping_, MappedFile::Open(path));
  f->data_ = f->mapping_->data();
  f->size_ = f->mapping_->size();
  KVS_RETURN_IF_ERROR(f->Parse());
  return f;
}

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::OpenBuffer(std::vector<uint8_t> bytes,
                                                                       std::string name) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->name_ = std::move(name);
  f->buffer_ = std::move(bytes);
  f->data_ = f->buffer_.data();
  f->size_ = f->buffer_.size();
  KVS_RETURN_IF_ERROR(f->Parse());
  return f;
}

const TensorInfo* SafetensorsFile::FindTensor(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsFile::Parse() {
  auto fail = [this](const std::string& what) {
    return InvalidArgumentError(name_ + ": safetensors: " + what);
  };
  if (size_ < 8) return fail("shorter than its 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | data_[i];
  if (header_len > kMaxHeaderBytes) {
    return fail("header length " + std::to_string(header_len) + " is over the limit of " +
                std::to_string(kMaxHeaderBytes));
  }
  if (header_len > size_ - 8) {
    return fail("header length " + std::to_string(header_len) + " runs past the end of the " +
                std::to_string(size_) + "-byte file");
  }
  const std::string_view text(reinterpret_cast<const char*>(data_ + 8), header_len);
  if (JsonNestingDepth(text, kMaxHeaderDepth) > kMaxHeaderDepth) {
    return fail("header JSON nested deeper than " + std::to_string(kMaxHeaderDepth));
  }
  const Json header = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return fail("header is not valid JSON");
  if (!header.is_object()) return fail("header is not a JSON object");

  const uint8_t* base = data_ + 8 + header_len;
  const uint64_t data_len = size_ - 8 - header_len;
  struct Range {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Range> ranges;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      if (!entry.is_object()) return fail("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return fail("__metadata__ value of '" + k + "' is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + key + "'";
    if (!entry.is_object()) return fail(where + " is not an object");
    const auto dtype = entry.find("dtype");
    const auto shape = entry.find("shape");
    const auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string()) return fail(where + ": no string \"dtype\"");
    if (shape == entry.end() || !shape->is_array()) return fail(where + ": no array \"shape\"");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
      return fail(where + ": \"data_offsets\" is not two non-negative integers");
    }
    const std::string dt = dtype->get<std::string>();
    const DTypeInfo* info = nullptr;
    for (const DTypeInfo& d : kDTypes) {
      if (dt == d.name) info = &d;
    }
    if (info == nullptr) {
      const bool known = std::any_of(std::begin(kOtherDTypes), std::end(kOtherDTypes),
                                     [&](const char* n) { return dt == n; });
      return fail(where + " has dtype " + dt.substr(0, 32) +
                  (known ? ", which kvserve does not read (F32, F16, BF16 only)"
                         : ", which is not a safetensors dtype"));
    }
    if (shape->size() > 4) return fail(where + " has " + std::to_string(shape->size()) + " dims (at most 4)");
    TensorInfo t;
    t.name = key;
    t.type = info->type;
    uint64_t n = 1;
    for (auto it = shape->rbegin(); it != shape->rend(); ++it) {
      if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 || it->get<uint64_t>() > (1ull << 40)) {
        return fail(where + ": shape entries must be positive integers");
      }
      n *= it->get<uint64_t>();
      if (n > (1ull << 40)) return fail(where + ": too many elements");
      t.dims.push_back(static_cast<int64_t>(it->get<uint64_t>()));
    }
    if (t.dims.empty()) t.dims.push_back(1);  // a scalar
    const uint64_t begin = (*offsets)[0].get<uint64_t>();
    const uint64_t end = (*offsets)[1].get<uint64_t>();
    if (begin > end || end > data_len) {
      return fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  ") outside the " + std::to_string(data_len) + "-byte data section");
    }
    if (end - begin != n * info->bytes) {
      return fail(where + ": shape and dtype make " + std::to_string(n * info->bytes) +
                  " bytes but data_offsets span " + std::to_string(end - begin));
    }
    t.offset = begin;
    t.data = base + begin;
    t.n_bytes = static_cast<size_t>(end - begin);
    ranges.push_back({begin, end, tensors_.size()});
    tensors_.push_back(std::move(t));
  }
  // The ranges must tile [0, data_len): sorted, each starting where the last ended.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const Range& r : ranges) {
    if (r.begin != at) {
      return fail("tensor '" + tensors_[r.index].name + "' " +
                  (r.begin < at ? "overlaps the one before it" : "leaves a hole before it") +
                  " (data_offsets start " + std::to_string(r.begin) + ", expected " +
                  std::to_string(at) + ")");
    }
    at = r.end;
  }
  if (at != data_len) {
    return fail("tensors cover " + std::to_string(at) + " of the data section's " +
                std::to_string(data_len) + " bytes");
  }
  for (size_t i = 0; i < tensors_.size(); ++i) by_name_.emplace(tensors_[i].name, i);
  return Status::Ok();
}

}  // namespace kvs
