#include "io/gguf_value.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>

#include "base/check.h"

namespace kvs {

static_assert(std::endian::native == std::endian::little, "GGUF readers assume little-endian");

std::string_view GgufTypeName(GgufType t) {
  switch (t) {
    case GgufType::kU8: return "u8";
    case GgufType::kI8: return "i8";
    case GgufType::kU16: return "u16";
    case GgufType::kI16: return "i16";
    case GgufType::kU32: return "u32";
    case GgufType::kI32: return "i32";
    case GgufType::kF32: return "f32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kU64: return "u64";
    case GgufType::kI64: return "i64";
    case GgufType::kF64: return "f64";
  }
  return "?";
}

std::optional<GgufType> GgufTypeFromNumber(uint32_t n) {
  if (n > static_cast<uint32_t>(GgufType::kF64)) return std::nullopt;
  return static_cast<GgufType>(n);
}

size_t GgufScalarBytes(GgufType t) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool: return 1;
    case GgufType::kU16:
    case GgufType::kI16: return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32: return 4;
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64: return 8;
    case GgufType::kString:
    case GgufType::kArray: return 0;
  }
  return 0;
}

bool GgufIsInteger(GgufType t) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kU16:
    case GgufType::kI16:
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kU64:
    case GgufType::kI64: return true;
    default: return false;
  }
}

std::optional<int64_t> GgufValue::ScalarAsInt(GgufType t, uint64_t bits) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kU16:
    case GgufType::kU32: return static_cast<int64_t>(bits);
    case GgufType::kI8: return static_cast<int8_t>(bits);
    case GgufType::kI16: return static_cast<int16_t>(bits);
    case GgufType::kI32: return static_cast<int32_t>(bits);
    case GgufType::kI64: return static_cast<int64_t>(bits);
    case GgufType::kU64:
      if (bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(bits);
    default: return std::nullopt;
  }
}

std::optional<double> GgufValue::ScalarAsDouble(GgufType t, uint64_t bits) {
  switch (t) {
    case GgufType::kF32: {
      float f;
      const uint32_t u = static_cast<uint32_t>(bits);
      std::memcpy(&f, &u, 4);
      return f;
    }
    case GgufType::kF64: {
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
    case GgufType::kBool: return bits != 0 ? 1.0 : 0.0;
    case GgufType::kU64: return static_cast<double>(bits);
    default: {
      auto i = ScalarAsInt(t, bits);
      if (!i) return std::nullopt;
      return static_cast<double>(*i);
    }
  }
}

uint64_t GgufValue::ElemBits(uint64_t i) const {
  KVS_CHECK(type == GgufType::kArray && raw != nullptr && i < n_elems) << "not a scalar array element";
  const size_t size = GgufScalarBytes(elem_type);
  uint64_t bits = 0;
  std::memcpy(&bits, raw + i * size, size);
  return bits;
}

namespace {

std::string ScalarToString(GgufType t, uint64_t bits) {
  char buf[64];
  if (t == GgufType::kBool) return bits != 0 ? "true" : "false";
  if (t == GgufType::kF32 || t == GgufType::kF64) {
    std::snprintf(buf, sizeof(buf), "%g", *GgufValue::ScalarAsDouble(t, bits));
    return buf;
  }
  if (t == GgufType::kU64) return std::to_string(bits);
  return std::to_string(GgufValue::ScalarAsInt(t, bits).value_or(0));
}

std::string Quoted(std::string_view s, size_t max_chars = 200) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max_chars; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max_chars) out += "...";
  return out + "\"";
}

}  // namespace

std::string GgufValue::ToString(size_t max_elems) const {
  if (type == GgufType::kString) return Quoted(str);
  if (type != GgufType::kArray) return ScalarToString(type, bits);
  std::string out = "[";
  const uint64_t shown = std::min<uint64_t>(n_elems, max_elems);
  for (uint64_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    if (elem_type == GgufType::kString) {
      out += Quoted(strs[i], 40);
    } else if (elem_type == GgufType::kArray) {
      out += arrays[i].ToString(max_elems);
    } else {
      out += ScalarToString(elem_type, ElemBits(i));
    }
  }
  if (n_elems > shown) out += ", ... (" + std::to_string(n_elems) + " " +
                              std::string(GgufTypeName(elem_type)) + ")";
  return out + "]";
}

}  // namespace kvs
