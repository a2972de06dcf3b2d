// Python str semantics over UTF-8 std::string: code-point lengths, indexes
// and slices, whitespace as str.isspace(), strip/split as str's methods.
// Free functions; thread-safe. Invalid UTF-8 bytes count as one code point
// each (they never come from JSON, which is validated upstream).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvs::jinja {

bool IsPyWhitespace(char32_t c);
// Code points of s, and the byte offset each starts at (plus a final
// offset == s.size()).
std::vector<size_t> CodePointOffsets(std::string_view s);
size_t CodePointCount(std::string_view s);

// str.strip / lstrip / rstrip: chars == nullopt strips whitespace, else any
// code point of *chars.
std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right);
// str.split(sep, maxsplit): sep == nullopt splits on whitespace runs and
// drops empty parts. REQUIRES: sep non-empty when given.
std::vector<std::string> PySplit(std::string_view s, const std::optional<std::string>& sep,
                                 int64_t maxsplit);
std::string PyReplace(std::string_view s, std::string_view from, std::string_view to,
                      int64_t count);
// str.upper() / str.lower() (case mapping for ASCII, Latin-1, Latin
// Extended-A, Greek and Cyrillic).
std::string PyUpper(std::string s);
std::string PyLower(std::string s);
// str.title(): first letter of each run of letters upper, the rest lower.
std::string PyTitle(std::string_view s);
// str.capitalize(): first character upper, the rest lower.
std::string PyCapitalize(std::string_view s);

}  // namespace kvs::jinja
