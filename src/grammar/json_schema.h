// JSON Schema to GBNF (gbnf.h): the grammar of the JSON texts a schema
// accepts, for response_format json_schema and tool arguments.
//
// Every text the grammar accepts is valid under the schema (checked against
// Python's jsonschema in tests/grammar_reference_test.cc); the grammar
// covers a canonical part of the valid texts, which is what a model needs:
// - objects list their declared properties in the schema's order, each
//   once; optional ones may be left out. Properties a schema does not
//   declare are never generated (additionalProperties: false or absent);
//   an object schema with no "properties" takes any keys, of the
//   additionalProperties schema if there is one;
// - whitespace between tokens: none, one space, or a newline followed by
//   at most 20 spaces or tabs (indentation);
// - numbers: at most 16 integer and 16 fraction digits, 3 exponent digits;
//   "integer" has no fraction or exponent;
// - enum and const values are written compactly (no spaces);
// - a string with minLength or maxLength has no characters past U+FFFF
//   (JSON Schema counts one per code point, JavaScript's length two per
//   such character: without them every validator counts the same).
// Supported: type (one or a list), properties, required,
// additionalProperties, items, minItems, maxItems, enum, const, anyOf,
// oneOf (as anyOf: the branches should not overlap), allOf with one
// schema, $ref to "#", "#/$defs/..." or "#/definitions/...",
// minLength, maxLength. Annotations (title, description, default, format,
// examples, ...) are ignored. Assertions outside this list (pattern,
// minimum, uniqueItems, ...) are an InvalidArgument error naming the
// keyword: refusing is better than output the schema does not allow.
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace kvs {

// `schema_json`: the schema as JSON text (its key order is kept).
StatusOr<std::string> JsonSchemaToGbnf(std::string_view schema_json);

// The grammar of any JSON object (response_format json_object).
std::string JsonObjectGbnf();

}  // namespace kvs
