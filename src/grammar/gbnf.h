// GBNF, llama.cpp's grammar notation, parsed into a Grammar.
//
//   root   ::= object
//   object ::= "{" ws ( pair ( "," ws pair )* )? "}"   # a comment
//   pair   ::= string ":" ws value
//   digit  ::= [0-9]
//   ws     ::= [ \t\n]{0,20}
//
// Rules are `name ::= alternatives`; a rule's body runs until the next
// `name ::=` or the end (newlines are plain spacing). Terms: "literal",
// [class], [^negated class], `.` (any code point), a rule name,
// ( group ), each optionally followed by *, +, ?, {m}, {m,} or {m,n}.
// Escapes in literals and classes: \n \r \t \\ \" \' \[ \] \- \^ \/,
// \xHH, \uHHHH, \UHHHHHHHH. Names are letters, digits, '-' and '_'.
// Errors name the line and column. Bounds: groups nest at most 64 deep,
// counts in {m,n} at most 10,000, plus GrammarBuilder's size limits.
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "grammar/grammar.h"

namespace kvs {

StatusOr<Grammar> ParseGbnf(std::string_view text, std::string_view root = "root");

// `text` (UTF-8) as a GBNF string literal, quotes included.
std::string GbnfLiteral(std::string_view text);

}  // namespace kvs
