// JSON Schema to grammar: what a schema outside the supported part gets (an
// error naming the keyword), and hand-checked texts for the supported part.
// The broad check against Python's jsonschema is tests/grammar_reference_test.cc.
#include "grammar/json_schema.h"

#include <gtest/gtest.h>

#include "grammar/gbnf.h"
#include "grammar/grammar_matcher.h"

namespace kvs {
namespace {

bool Accepts(const std::string& gbnf, std::string_view text) {
  auto g = ParseGbnf(gbnf);
  EXPECT_TRUE(g.ok()) << g.status().ToString() << "\n" << gbnf;
  if (!g.ok()) return false;
  GrammarMatcher m(&*g);
  return m.Accept(text) && m.IsComplete();
}

TEST(JsonSchemaTest, PropertiesInOrderOptionalOnesMayBeLeftOut) {
  auto gbnf = JsonSchemaToGbnf(R"({"type": "object", "properties": {
      "b": {"type": "integer"}, "a": {"type": "string"}, "c": {"type": "boolean"}},
      "required": ["a"], "additionalProperties": false})");
  ASSERT_TRUE(gbnf.ok()) << gbnf.status().ToString();
  for (const char* ok : {R"({"a": "x"})", R"({"b": 1, "a": "x"})", R"({"a":"x","c":true})",
                         "{\n  \"b\": -20,\n  \"a\": \"\",\n  \"c\": false\n}"}) {
    EXPECT_TRUE(Accepts(*gbnf, ok)) << ok;
  }
  for (const char* bad : {R"({})", R"({"b": 1})", R"({"a": "x", "b": 1})", R"({"a": "x",})",
                          R"({"a": "x", "d": 1})", R"({"a": 1})", R"({"b": 1.5, "a": "x"})"}) {
    EXPECT_FALSE(Accepts(*gbnf, bad)) << bad;
  }
}

TEST(JsonSchemaTest, BoundedStringsStayInTheBmp) {
  // JSON Schema counts code points, JavaScript UTF-16 units: no character
  // or escape pair past U+FFFF where a length is bounded.
  auto gbnf = JsonSchemaToGbnf(R"({"type": "string", "maxLength": 3})");
  ASSERT_TRUE(gbnf.ok());
  for (const char* ok : {R"("é日a")", R"("\u00e9")", R"("")"}) EXPECT_TRUE(Accepts(*gbnf, ok)) << ok;
  for (const char* bad : {"\"\xF0\x9F\x98\x80\"", R"("\ud83d\ude00")", R"("abcd")"}) EXPECT_FALSE(Accepts(*gbnf, bad)) << bad;
  auto free = JsonSchemaToGbnf(R"({"type": "string"})");
  ASSERT_TRUE(free.ok());
  EXPECT_TRUE(Accepts(*free, "\"\xF0\x9F\x98\x80\""));  // unbounded: any character
}

TEST(JsonSchemaTest, RecursionThroughRefs) {
  auto gbnf = JsonSchemaToGbnf(R"({"type": "array", "items": {"$ref": "#"}, "maxItems": 2})");
  ASSERT_TRUE(gbnf.ok()) << gbnf.status().ToString();
  for (const char* ok : {"[]", "[[], [[]]]"}) EXPECT_TRUE(Accepts(*gbnf, ok)) << ok;
  for (const char* bad : {"[[], [], []]", "[1]"}) EXPECT_FALSE(Accepts(*gbnf, bad)) << bad;
}

TEST(JsonSchemaTest, JsonObjectModeTakesAnyObjectOnly) {
  const std::string gbnf = JsonObjectGbnf();
  for (const char* ok : {"{}", R"({"a": [1, {"b": null}], "c": "\u00e9"})"}) EXPECT_TRUE(Accepts(gbnf, ok)) << ok;
  for (const char* bad : {"[]", "1", R"({"a" 1})", R"({'a': 1})"}) EXPECT_FALSE(Accepts(gbnf, bad)) << bad;
}

TEST(JsonSchemaTest, UnsupportedAssertionsAreNamed) {
  const struct {
    const char* schema;
    const char* message;
  } cases[] = {
      {R"({"type": "string", "pattern": "^a"})", "unsupported keyword 'pattern'"},
      {R"({"type": "integer", "maximum": 3})", "unsupported keyword 'maximum'"},
      {R"({"type": "integer", "minimum": 5})", "minimum 5"},
      {R"({"type": "array", "uniqueItems": true})", "unsupported keyword 'uniqueItems'"},
      {R"({"$ref": "#/$defs/missing"})", "cannot resolve $ref '#/$defs/missing'"},
      {R"({"type": "object", "required": ["x"]})", "required property 'x' is not in properties"},
      {R"({"type": "strin"})", "unknown type 'strin'"},
      {R"({"allOf": [{}, {}]})", "allOf with more than one schema"},
      {R"({"type": "string", "maxLength": 100000})", "maxLength above"},
      {R"({"type": "array", "minItems": 3, "maxItems": 2})", "maxItems below minItems"},
      {R"({"enum": []})", "enum must be a non-empty array"},
      {"false", "matches nothing"},
      {"[1", "not valid JSON"},
      {"3", "must be an object or a boolean"},
  };
  for (const auto& c : cases) {
    auto gbnf = JsonSchemaToGbnf(c.schema);
    ASSERT_FALSE(gbnf.ok()) << c.schema;
    EXPECT_NE(gbnf.status().message().find(c.message), std::string::npos)
        << c.schema << " -> " << gbnf.status().message();
  }
}

TEST(JsonSchemaTest, DeepSchemasAreRefused) {
  std::string schema;
  for (int i = 0; i < 200; ++i) schema += R"({"type": "array", "items": )";
  schema += "{}";
  for (int i = 0; i < 200; ++i) schema += "}";
  auto gbnf = JsonSchemaToGbnf(schema);
  ASSERT_FALSE(gbnf.ok());
  EXPECT_NE(gbnf.status().message().find("nested deeper"), std::string::npos);
}

}  // namespace
}  // namespace kvs
