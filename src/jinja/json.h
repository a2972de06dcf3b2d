// JSON in and out of Values: request data (nlohmann::json) becomes the
// Values a template sees, as Python's json.loads would give them; ToJson is
// Python's json.dumps as Hugging Face's `tojson` filter calls it
// (ensure_ascii=False by default, optional indent, separators, sort_keys).
// Free functions; thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "jinja/value.h"

namespace kvs::jinja {

// Object keys keep their order with ordered_json (as Python dicts do); a
// plain nlohmann::json has already sorted them.
Value FromJson(const nlohmann::json& j);
Value FromJson(const nlohmann::ordered_json& j);

struct JsonDumpOptions {
  std::optional<std::string> indent;  // nullopt: one line; else the indent unit
  std::string item_separator = ", ";  // json.dumps' default is "," with an indent
  std::string key_separator = ": ";
  bool ensure_ascii = false;
  bool sort_keys = false;
};

// InvalidArgument for undefined values, callables and namespaces (Python's
// "not JSON serializable") and for non-string dict keys it cannot convert.
StatusOr<std::string> ToJson(const Value& v, const JsonDumpOptions& options);

}  // namespace kvs::jinja
