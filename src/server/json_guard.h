// Guards for JSON that comes from clients: a nesting-depth check that runs
// on the raw bytes before any parser sees them, and a bounded description of
// an untrusted value for error messages.
//
// Why: nlohmann::json's dump() (and anything else that walks a value) is
// recursive, so a body of ~65k nested arrays overflows the stack. Neither
// function here recurses; both are O(input) and allocation-light. Pure
// functions: thread-safe.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace kvs::server {

// Deepest nesting of arrays/objects in `text` (brackets inside strings, with
// escapes, do not count), stopping early once it exceeds `limit`; returns
// limit + 1 then. Does not validate the JSON: the parser does that after.
int JsonNestingDepth(std::string_view text, int limit);

// A short text for `value` in an error message: scalars as JSON (strings cut
// to `max_chars`), arrays and objects by type name only ("array").
std::string DescribeJsonValue(const nlohmann::json& value, size_t max_chars = 32);

}  // namespace kvs::server
