// Which body fields constrain the output, to what, and the 400s for bad ones.
#include "server/structured_output.h"

#include <gtest/gtest.h>

#include "grammar/grammar_matcher.h"

namespace kvs::server {
namespace {

// The route hands ReadOutputGrammar the body as ParseOpenAiRequest parsed
// it: key order kept.
ApiOr<std::shared_ptr<const Grammar>> Read(std::string_view body) {
  return ReadOutputGrammar(nlohmann::ordered_json::parse(body));
}

bool Accepts(const Grammar& g, std::string_view text) {
  GrammarMatcher m(&g);
  return m.Accept(text) && m.IsComplete();
}

TEST(StructuredOutputTest, EachFieldGivesItsGrammar) {
  const struct {
    const char* body;
    const char* accepted;
    const char* refused;
  } cases[] = {
      {R"({"response_format": {"type": "json_object"}})", R"({"a": [1]})", "[1]"},
      {R"({"response_format": {"type": "json_schema", "json_schema": {"name": "p", "strict": true,
          "schema": {"type": "object", "properties": {"z": {"type": "integer"}, "a": {"type": "boolean"}},
          "required": ["z", "a"], "additionalProperties": false}}}})",
       R"({"z": 1, "a": true})", R"({"a": true, "z": 1})"},  // the schema's order, not sorted
      {R"({"guided_json": {"type": "array", "items": {"type": "null"}}})", "[null, null]", "[1]"},
      {R"({"guided_json": "{\"type\": \"boolean\"}"})", "false", "1"},
      {R"({"json_schema": {"enum": ["a", "b"]}})", R"("b")", R"("c")"},
      {R"({"guided_regex": "\\d{2}-[a-c]+"})", "12-abca", "1-a"},
      {R"({"guided_choice": ["yes", "no", "a \"quoted\" one"]})", "a \"quoted\" one", "maybe"},
      {R"({"guided_grammar": "root ::= [0-9]+ \"!\""})", "42!", "42"},
      {R"({"grammar": "root ::= \"x\"{2}"})", "xx", "x"},
  };
  for (const auto& c : cases) {
    auto g = Read(c.body);
    ASSERT_TRUE(g.ok()) << c.body << ": " << g.error().message;
    ASSERT_NE(g.value(), nullptr) << c.body;
    EXPECT_TRUE(Accepts(*g.value(), c.accepted)) << c.body;
    EXPECT_FALSE(Accepts(*g.value(), c.refused)) << c.body;
  }
}

TEST(StructuredOutputTest, NoneWhenNotAsked) {
  for (const char* body : {R"({"messages": []})", R"({"response_format": {"type": "text"}})",
                           R"({"response_format": null, "grammar": null})"}) {
    auto g = Read(body);
    ASSERT_TRUE(g.ok()) << body;
    EXPECT_EQ(g.value(), nullptr) << body;
  }
}

TEST(StructuredOutputTest, BadFieldsAre400sNamingThem) {
  const struct {
    const char* body;
    const char* param;
    const char* message;
  } cases[] = {
      {R"({"response_format": {"type": "xml"}})", "response_format.type", "json_schema, got 'xml'"},
      {R"({"response_format": "json"})", "response_format", "must be an object"},
      {R"({"response_format": {"type": "json_schema"}})", "response_format.json_schema", "'schema'"},
      {R"({"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "string", "pattern": "a"}}}})",
       "response_format.json_schema.schema", "unsupported keyword 'pattern'"},
      {R"({"guided_regex": "(?=a)b"})", "guided_regex", "lookaround"},
      {R"({"guided_regex": 3})", "guided_regex", "must be a string"},
      {R"({"guided_choice": []})", "guided_choice", "non-empty array"},
      {R"({"guided_grammar": "root ::= missing"})", "guided_grammar", "'missing' is used but not defined"},
      {R"({"grammar": "root ::= \"a\"", "response_format": {"type": "json_object"}})", "grammar", "send one"},
  };
  for (const auto& c : cases) {
    auto g = Read(c.body);
    ASSERT_FALSE(g.ok()) << c.body;
    EXPECT_EQ(g.error().http_status, 400) << c.body;
    EXPECT_EQ(g.error().param, c.param) << c.body;
    EXPECT_NE(g.error().message.find(c.message), std::string::npos) << c.body << " -> " << g.error().message;
  }
}

}  // namespace
}  // namespace kvs::server
