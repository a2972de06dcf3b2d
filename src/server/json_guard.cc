#include "server/json_guard.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace kvs::server {

int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        deepest = std::max(deepest, ++depth);
        if (deepest > limit) return limit + 1;
        break;
      case ']':
      case '}':
        // Unbalanced closers are the parser's to reject; never go negative.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

std::string DescribeJsonValue(const nlohmann::json& value, size_t max_chars) {
  if (value.is_structured()) return value.type_name();
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s.size() > max_chars) {
      // dump() escapes; cutting after would leave a broken escape or UTF-8.
      return nlohmann::json(s.substr(0, max_chars))
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
             "...";
    }
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return value.dump();  // number, boolean or null: short and flat
}

}  // namespace kvs::server
