// Argument helpers for builtin filters, tests, methods and globals: fetch a
// parameter by position or keyword as Python binds them.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "jinja/value.h"

namespace kvs::jinja {

// The argument at `pos` (positional) or named `name`; undefined if absent.
inline Value Arg(const CallArgs& a, size_t pos, const char* name) {
  if (pos < a.positional.size()) return a.positional[pos];
  for (const auto& [k, v] : a.keywords) {
    if (k == name) return v;
  }
  return Value();
}

inline StatusOr<std::optional<std::string>> OptStringArg(const CallArgs& a, size_t pos,
                                                         const char* name, const char* fn) {
  Value v = Arg(a, pos, name);
  if (v.is_undefined() || v.is_none()) return std::optional<std::string>();
  if (!v.is_string()) {
    return InvalidArgumentError(std::string(fn) + "(): '" + name + "' must be a string, got " +
                                v.TypeName());
  }
  return std::optional<std::string>(v.AsString());
}

inline StatusOr<int64_t> IntArg(const CallArgs& a, size_t pos, const char* name, int64_t dflt,
                                const char* fn) {
  Value v = Arg(a, pos, name);
  if (v.is_undefined() || v.is_none()) return dflt;
  if (!v.is_number() || v.kind() == Kind::kFloat) {
    return InvalidArgumentError(std::string(fn) + "(): '" + name + "' must be an integer, got " +
                                v.TypeName());
  }
  return v.AsInt();
}

}  // namespace kvs::jinja
