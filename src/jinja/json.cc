#include "jinja/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace kvs::jinja {
namespace {

void DumpString(const std::string& s, bool ensure_ascii, std::string* out) {
  *out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char buf[16];
    switch (c) {
      case '"': *out += "\\\""; continue;
      case '\\': *out += "\\\\"; continue;
      case '\n': *out += "\\n"; continue;
      case '\r': *out += "\\r"; continue;
      case '\t': *out += "\\t"; continue;
      case '\b': *out += "\\b"; continue;
      case '\f': *out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c == 0x7f)) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      *out += buf;
    } else if (c >= 0x80 && ensure_ascii) {
      int n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
      uint32_t cp = n == 1 ? c : (c & (0x7f >> n));
      for (int k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3f);
      i += n - 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
      }
      *out += buf;
    } else {
      *out += static_cast<char>(c);
    }
  }
  *out += '"';
}

class Dumper {
 public:
  explicit Dumper(const JsonDumpOptions& o) : o_(o) {}

  Status Dump(const Value& v, int level, std::string* out) {
    if (level > 512) return InvalidArgumentError("tojson: value nested too deeply");
    switch (v.kind()) {
      case Kind::kNone: *out += "null"; return Status();
      case Kind::kBool: *out += v.AsBool() ? "true" : "false"; return Status();
      case Kind::kInt: *out += std::to_string(v.AsInt()); return Status();
      case Kind::kFloat: {
        double f = v.AsFloat();
        *out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f < 0 ? "-Infinity" : "Infinity") : v.Str();
        return Status();
      }
      case Kind::kString: DumpString(v.AsString(), o_.ensure_ascii, out); return Status();
      case Kind::kList: {
        const auto& items = v.AsList();
        if (items.empty()) {
          *out += "[]";
          return Status();
        }
        *out += '[';
        for (size_t k = 0; k < items.size(); ++k) {
          if (k) *out += o_.item_separator;
          Newline(level + 1, out);
          KVS_RETURN_IF_ERROR(Dump(items[k], level + 1, out));
        }
        Newline(level, out);
        *out += ']';
        return Status();
      }
      case Kind::kDict: {
        std::vector<const std::pair<Value, Value>*> items;
        for (const auto& kv : v.AsDict().items) items.push_back(&kv);
        if (items.empty()) {
          *out += "{}";
          return Status();
        }
        std::vector<std::string> keys;
        for (const auto* kv : items) {
          KVS_ASSIGN_OR_RETURN(std::string key, KeyString(kv->first));
          keys.push_back(std::move(key));
        }
        std::vector<size_t> order(items.size());
        for (size_t k = 0; k < order.size(); ++k) order[k] = k;
        if (o_.sort_keys) {
          std::stable_sort(order.begin(), order.end(),
                           [&](size_t a, size_t b) { return keys[a] < keys[b]; });
        }
        *out += '{';
        for (size_t n = 0; n < order.size(); ++n) {
          if (n) *out += o_.item_separator;
          Newline(level + 1, out);
          DumpString(keys[order[n]], o_.ensure_ascii, out);
          *out += o_.key_separator;
          KVS_RETURN_IF_ERROR(Dump(items[order[n]]->second, level + 1, out));
        }
        Newline(level, out);
        *out += '}';
        return Status();
      }
      default:
        return InvalidArgumentError(std::string("tojson: object of type ") + v.TypeName() +
                                    " is not JSON serializable");
    }
  }

 private:
  void Newline(int level, std::string* out) const {
    if (!o_.indent) return;
    *out += '\n';
    for (int k = 0; k < level; ++k) *out += *o_.indent;
  }

  // Python's json converts None/bool/number keys to strings.
  static StatusOr<std::string> KeyString(const Value& k) {
    switch (k.kind()) {
      case Kind::kString: return k.AsString();
      case Kind::kNone: return std::string("null");
      case Kind::kBool: return std::string(k.AsBool() ? "true" : "false");
      case Kind::kInt:
      case Kind::kFloat: return k.Str();
      default:
        return InvalidArgumentError(std::string("tojson: keys must be str, int, float, bool or None, not ") +
                                    k.TypeName());
    }
  }

  const JsonDumpOptions& o_;
};

}  // namespace

template <typename J>
Value FromJsonImpl(const J& j) {
  switch (j.type()) {
    case nlohmann::detail::value_t::null: return Value::None();
    case nlohmann::detail::value_t::boolean: return Value(j.template get<bool>());
    case nlohmann::detail::value_t::number_integer: return Value(j.template get<int64_t>());
    case nlohmann::detail::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      return u > static_cast<uint64_t>(INT64_MAX) ? Value(static_cast<double>(u))
                                                   : Value(static_cast<int64_t>(u));
    }
    case nlohmann::detail::value_t::number_float: return Value(j.template get<double>());
    case nlohmann::detail::value_t::string: return Value(j.template get<std::string>());
    case nlohmann::detail::value_t::array: {
      std::vector<Value> items;
      for (const auto& x : j) items.push_back(FromJsonImpl(x));
      return Value::MakeList(std::move(items));
    }
    case nlohmann::detail::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.items.emplace_back(Value(it.key()), FromJsonImpl(it.value()));
      return Value::MakeDict(std::move(d));
    }
    default: return Value();
  }
}

Value FromJson(const nlohmann::json& j) { return FromJsonImpl(j); }
Value FromJson(const nlohmann::ordered_json& j) { return FromJsonImpl(j); }

StatusOr<std::string> ToJson(const Value& v, const JsonDumpOptions& options) {
  std::string out;
  KVS_RETURN_IF_ERROR(Dumper(options).Dump(v, 0, &out));
  return out;
}

}  // namespace kvs::jinja
