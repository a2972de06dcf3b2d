// A regular expression to GBNF (gbnf.h), for vLLM's guided_regex: the
// grammar of the strings the pattern matches in full (Python's
// re.fullmatch, the reference in tests/grammar_reference_test.cc).
//
// Syntax: literals, `.` (any code point but newline), classes [a-z] [^...]
// with escapes, \d \w \s and \D \W \S (ASCII meanings), \n \t \r \f \v,
// \xHH, \uHHHH, escaped punctuation, groups ( ) and (?: ), alternation |,
// quantifiers * + ? {m} {m,} {m,n} (a lazy `?` after them changes nothing
// for a full match). ^ at the start and $ at the end are accepted and
// redundant. Anything else (backreferences, lookaround, named groups,
// flags, anchors inside) is an InvalidArgument error naming it.
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace kvs {

StatusOr<std::string> RegexToGbnf(std::string_view pattern);

}  // namespace kvs
