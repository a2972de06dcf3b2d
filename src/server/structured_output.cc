#include "server/structured_output.h"

#include <nlohmann/json.hpp>
#include <string>

#include "grammar/gbnf.h"
#include "grammar/json_schema.h"
#include "grammar/regex.h"

namespace kvs::server {
namespace {

using OJson = nlohmann::ordered_json;

// The GBNF text the field asks for, or an error naming it.
ApiOr<std::string> GbnfFor(const std::string& field, const OJson& v) {
  auto from = [&](const StatusOr<std::string>& gbnf, const std::string& param) -> ApiOr<std::string> {
    if (!gbnf.ok()) return InvalidParam(param, param + ": " + gbnf.status().message(), "invalid_value");
    return *gbnf;
  };
  auto need_string = [&](const OJson& x, const std::string& param) -> ApiOr<std::string> {
    if (!x.is_string()) return InvalidParam(param, "'" + param + "' must be a string", "invalid_type");
    return x.get<std::string>();
  };
  if (field == "response_format") {
    if (!v.is_object() || !v.contains("type") || !v["type"].is_string()) {
      return InvalidParam(field, "'response_format' must be an object with a string 'type'", "invalid_type");
    }
    const std::string type = v["type"].get<std::string>();
    if (type == "text") return std::string();
    if (type == "json_object") return JsonObjectGbnf();
    if (type != "json_schema") {
      return InvalidParam("response_format.type",
                          "'response_format.type' must be text, json_object or json_schema, got '" + type + "'",
                          "invalid_value");
    }
    if (!v.contains("json_schema") || !v["json_schema"].is_object() || !v["json_schema"].contains("schema")) {
      return InvalidParam("response_format.json_schema",
                          "'response_format.json_schema' must be an object with a 'schema'", "invalid_type");
    }
    return from(JsonSchemaToGbnf(v["json_schema"]["schema"].dump()), "response_format.json_schema.schema");
  }
  if (field == "guided_json" || field == "json_schema") {
    // A schema, or (vLLM accepts both) a schema written as a JSON string.
    return from(JsonSchemaToGbnf(v.is_string() ? v.get<std::string>() : v.dump()), field);
  }
  if (field == "guided_regex") {
    ApiOr<std::string> pattern = need_string(v, field);
    if (!pattern.ok()) return pattern;
    return from(RegexToGbnf(pattern.value()), field);
  }
  if (field == "guided_choice") {
    if (!v.is_array() || v.empty()) {
      return InvalidParam(field, "'guided_choice' must be a non-empty array of strings", "invalid_type");
    }
    std::string gbnf = "root ::= ";
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) {
        return InvalidParam(field, "'guided_choice' must be a non-empty array of strings", "invalid_type");
      }
      gbnf += (i == 0 ? "" : " | ") + GbnfLiteral(v[i].get<std::string>());
    }
    return gbnf + "\n";
  }
  return need_string(v, field);  // guided_grammar, grammar: GBNF text
}

}  // namespace

ApiOr<std::shared_ptr<const Grammar>> ReadOutputGrammar(const OJson& json) {
  if (!json.is_object()) return std::shared_ptr<const Grammar>();
  std::string field, gbnf;
  for (const char* key : {"response_format", "guided_json", "guided_regex", "guided_choice", "guided_grammar",
                          "grammar", "json_schema"}) {
    const auto it = json.find(key);
    if (it == json.end() || it->is_null()) continue;
    ApiOr<std::string> g = GbnfFor(key, *it);
    if (!g.ok()) return g.error();
    if (g.value().empty()) continue;  // response_format text
    if (!field.empty()) {
      return InvalidParam(key, "'" + field + "' and '" + key + "' both constrain the output; send one",
                          "invalid_value");
    }
    field = key;
    gbnf = std::move(g).value();
  }
  if (field.empty()) return std::shared_ptr<const Grammar>();
  StatusOr<Grammar> grammar = ParseGbnf(gbnf);
  if (!grammar.ok()) return InvalidParam(field, field + ": " + grammar.status().message(), "invalid_value");
  return std::make_shared<const Grammar>(*std::move(grammar));
}

}  // namespace kvs::server
