// Parser: tokens -> syntax tree for the Jinja subset chat templates use
// (if/elif/else, for with else, filter conditions and loop.*, set (plain,
// tuple, namespace attribute, block), macro, break/continue, Hugging Face's
// generation block; the full expression grammar with filters, tests,
// slices, calls with keyword arguments, inline if).
//
// Anything outside the subset ({% call %}, {% include %}, {% extends %},
// {% import %}, {% filter %}, {% with %}, recursive loops, ...) is an
// InvalidArgument error naming the construct and its line, so a template
// we cannot render is refused when the model loads. Nesting deeper than
// kMaxDepth is refused too (the parser recurses). Thread-safe.
#pragma once

#include <vector>

#include "base/status.h"
#include "jinja/ast.h"
#include "jinja/lexer.h"

namespace kvs::jinja {

StatusOr<NodeList> Parse(const std::vector<Token>& tokens);

}  // namespace kvs::jinja
