#include "grammar/json_schema.h"

#include "grammar/gbnf.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <vector>

namespace kvs {
namespace {

using OJson = nlohmann::ordered_json;

constexpr int kMaxSchemaDepth = 64;
constexpr int64_t kMaxSchemaCount = 1000;  // minItems/maxItems/minLength/maxLength we expand

// The shared rules, each with the rules it uses.
struct Primitive {
  const char* name;
  const char* body;
  std::vector<const char*> uses;
};
const Primitive kPrimitives[] = {
    // One space, or a newline and indentation: what JSON writers put
    // between tokens (llama.cpp's choice too). Free whitespace would let a
    // model spend its tokens on blank lines.
    {"ws", R"(( " " | "\n" [ \t]{0,20} )?)", {}},
    {"char", R"([^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ))", {}},
    {"string", R"("\"" char* "\"")", {"char"}},
    // In a string with a length bound: nothing past U+FFFF, so that JSON
    // Schema (code points) and JavaScript validators such as zod (UTF-16
    // units) count the same length. Nor surrogate escapes (a pair is one
    // code point, but two escapes).
    {"bmp-char", R"([^"\\\x00-\x1F\U00010000-\U0010FFFF] | "\\" ( ["\\/bfnrt] | "u" ( [0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} ) ))", {}},
    {"integer", R"("-"? ( "0" | [1-9] [0-9]{0,15} ))", {}},
    {"number", R"("-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?)", {}},
    {"boolean", R"("true" | "false")", {}},
    {"null", R"("null")", {}},
    {"value", "object | array | string | number | boolean | null",
     {"object", "array", "string", "number", "boolean", "null"}},
    {"object", R"("{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}")",
     {"ws", "string", "value"}},
    {"array", R"("[" ws ( value ws ( "," ws value ws )* )? "]")", {"ws", "value"}},
};

// Keywords that constrain values and that we do not turn into grammar.
const std::set<std::string> kUnsupported = {
    "pattern", "patternProperties", "propertyNames", "minProperties", "maxProperties",
    "dependentRequired", "dependentSchemas", "dependencies", "if", "then", "else", "not",
    "contains", "minContains", "maxContains", "uniqueItems", "prefixItems",
    "unevaluatedProperties", "unevaluatedItems", "maximum", "exclusiveMaximum", "multipleOf",
    "additionalItems", "$dynamicRef", "$recursiveRef", "contentSchema"};

std::string RuleName(const std::string& hint) {
  std::string out;
  for (char c : hint) out += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '-';
  return out.empty() ? "x" : out;
}

class SchemaConverter {
 public:
  explicit SchemaConverter(const OJson& root) : root_(root) {}

  StatusOr<std::string> Convert() {
    KVS_ASSIGN_OR_RETURN(std::string top, Visit(root_, "root-value", 0));
    std::string out = "root ::= " + Use("ws") + " " + top + " ws\n";
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    return out;
  }

 private:
  std::string Use(const std::string& primitive) {
    for (const Primitive& p : kPrimitives) {
      if (p.name != primitive) continue;
      if (defined_.insert(p.name).second) {
        rules_.emplace_back(p.name, p.body);
        for (const char* u : p.uses) Use(u);
      }
    }
    return primitive;
  }

  std::string NewRule(const std::string& hint) {
    std::string name = RuleName(hint);
    for (int i = 2; defined_.count(name) != 0; ++i) name = RuleName(hint) + "-" + std::to_string(i);
    defined_.insert(name);
    rules_.emplace_back(name, "");
    return name;
  }

  void SetRule(const std::string& name, std::string body) {
    for (auto& [n, b] : rules_) {
      if (n == name) b = std::move(body);
    }
  }

  std::string AddRule(const std::string& hint, std::string body) {
    const std::string name = NewRule(hint);
    SetRule(name, std::move(body));
    return name;
  }

  static Status Error(const std::string& what) {
    return InvalidArgumentError("JSON schema: " + what);
  }

  StatusOr<int64_t> Count(const OJson& s, const char* key, int64_t fallback) {
    if (!s.contains(key)) return fallback;
    const OJson& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) return Error(std::string(key) + " must be a non-negative integer");
    if (v.get<int64_t>() > kMaxSchemaCount) return Error(std::string(key) + " above " + std::to_string(kMaxSchemaCount));
    return v.get<int64_t>();
  }

  // `item` repeated [min, max] times (max < 0: unbounded), separated by
  // `sep`: an expression.
  static std::string Repeated(const std::string& item, const std::string& sep, int64_t min, int64_t max) {
    if (max == 0) return "\"\"";
    const std::string more = "( " + sep + " " + item + " )";
    auto count = [&](int64_t lo, int64_t hi) {
      return hi < 0 ? "{" + std::to_string(lo) + ",}"
                    : "{" + std::to_string(lo) + "," + std::to_string(hi) + "}";
    };
    const std::string tail = more + count(std::max<int64_t>(min - 1, 0), max < 0 ? -1 : max - 1);
    return min == 0 ? "( " + item + " " + tail + " )?" : item + " " + tail;
  }

  StatusOr<std::string> Ref(const std::string& ref, int depth) {
    const auto it = refs_.find(ref);
    if (it != refs_.end()) return it->second;
    const OJson* target = nullptr;
    if (ref == "#") {
      target = &root_;
    } else {
      for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
        const std::string p = prefix;
        const std::string defs = p.substr(2, p.size() - 3);
        if (ref.rfind(p, 0) == 0 && root_.contains(defs) && root_[defs].is_object() &&
            root_[defs].contains(ref.substr(p.size()))) {
          target = &root_[defs][ref.substr(p.size())];
        }
      }
    }
    if (target == nullptr) return Error("cannot resolve $ref '" + ref + "'");
    const std::string name = NewRule("ref-" + ref.substr(ref.rfind('/') + 1));
    refs_.emplace(ref, name);
    KVS_ASSIGN_OR_RETURN(std::string body, Visit(*target, name + "-value", depth + 1));
    SetRule(name, body);
    return name;
  }

  StatusOr<std::string> Visit(const OJson& s, const std::string& name, int depth) {
    if (depth > kMaxSchemaDepth) return Error("nested deeper than " + std::to_string(kMaxSchemaDepth));
    if (s.is_boolean()) {
      if (s.get<bool>()) return Use("value");
      return Error("the schema false matches nothing");
    }
    if (!s.is_object()) return Error("a schema must be an object or a boolean, got " + s.dump());
    for (const auto& [key, value] : s.items()) {
      if (kUnsupported.count(key) != 0) return Error("unsupported keyword '" + key + "'");
    }
    if (s.contains("$ref")) {
      if (!s["$ref"].is_string()) return Error("$ref must be a string");
      return Ref(s["$ref"].get<std::string>(), depth);
    }
    if (s.contains("const")) return GbnfLiteral(s["const"].dump());
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) return Error("enum must be a non-empty array");
      std::string alts;
      for (const OJson& v : s["enum"]) alts += (alts.empty() ? "" : " | ") + GbnfLiteral(v.dump());
      return "( " + alts + " )";
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      if (!s[key].is_array() || s[key].empty()) return Error(std::string(key) + " must be a non-empty array");
      std::string alts;
      for (size_t i = 0; i < s[key].size(); ++i) {
        KVS_ASSIGN_OR_RETURN(std::string a, Visit(s[key][i], name + "-" + std::to_string(i), depth + 1));
        alts += (alts.empty() ? "" : " | ") + a;
      }
      return AddRule(name, alts);
    }
    if (s.contains("allOf")) {
      if (!s["allOf"].is_array() || s["allOf"].size() != 1) return Error("allOf with more than one schema is not supported");
      return Visit(s["allOf"][0], name, depth + 1);
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      if (s["type"].is_string()) {
        types.push_back(s["type"].get<std::string>());
      } else if (s["type"].is_array()) {
        for (const OJson& t : s["type"]) {
          if (!t.is_string()) return Error("type must be a string or an array of strings");
          types.push_back(t.get<std::string>());
        }
      } else {
        return Error("type must be a string or an array of strings");
      }
    } else if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required")) {
      types.push_back("object");
    } else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
      types.push_back("array");
    } else if (s.contains("minLength") || s.contains("maxLength")) {
      types.push_back("string");
    } else {
      return Use("value");
    }
    std::string alts;
    for (const std::string& t : types) {
      KVS_ASSIGN_OR_RETURN(std::string a, Type(s, t, name, depth));
      alts += (alts.empty() ? "" : " | ") + a;
    }
    return types.size() == 1 ? alts : AddRule(name, alts);
  }

  StatusOr<std::string> Type(const OJson& s, const std::string& t, const std::string& name, int depth) {
    if (t == "string") {
      KVS_ASSIGN_OR_RETURN(int64_t min, Count(s, "minLength", 0));
      KVS_ASSIGN_OR_RETURN(int64_t max, Count(s, "maxLength", -1));
      if (max >= 0 && max < min) return Error("maxLength below minLength");
      if (min == 0 && max < 0) return Use("string");
      Use("bmp-char");
      return AddRule(name, "\"\\\"\" bmp-char{" + std::to_string(min) + "," +
                               (max < 0 ? "" : std::to_string(max)) + "} \"\\\"\"");
    }
    if (t == "integer" || t == "number") return Number(s, t, name);
    if (t == "boolean" || t == "null") return Use(t);
    if (t == "object") return Object(s, name, depth);
    if (t == "array") {
      std::string item = Use("value");
      if (s.contains("items")) {
        KVS_ASSIGN_OR_RETURN(item, Visit(s["items"], name + "-item", depth + 1));
      }
      KVS_ASSIGN_OR_RETURN(int64_t min, Count(s, "minItems", 0));
      KVS_ASSIGN_OR_RETURN(int64_t max, Count(s, "maxItems", -1));
      if (max >= 0 && max < min) return Error("maxItems below minItems");
      Use("ws");
      return AddRule(name, "\"[\" ws " + Repeated(item + " ws", "\",\" ws", min, max) + " \"]\"");
    }
    return Error("unknown type '" + t + "'");
  }

  // Lower bounds of 0 (and 1 for integers): the common "non-negative" and
  // "positive" counts. Other bounds are refused.
  StatusOr<std::string> Number(const OJson& s, const std::string& t, const std::string& name) {
    const bool has_min = s.contains("minimum"), has_emin = s.contains("exclusiveMinimum");
    if (!has_min && !has_emin) return Use(t);
    const OJson& bound = has_min ? s["minimum"] : s["exclusiveMinimum"];
    if (has_min && has_emin) return Error("both minimum and exclusiveMinimum");
    if (!bound.is_number()) return Error("minimum must be a number");
    const double b = bound.get<double>();
    const std::string digits = t == "integer" ? R"(( "0" | [1-9] [0-9]{0,15} ))"
                                              : R"(( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?)";
    if (has_min && b == 0) return AddRule(name, digits);
    if (t == "integer" && ((has_min && b == 1) || (has_emin && b == 0))) {
      return AddRule(name, "[1-9] [0-9]{0,15}");
    }
    return Error(std::string(has_min ? "minimum" : "exclusiveMinimum") + " " + bound.dump() +
                 " (only 0, and 1 for integers, are supported)");
  }

  StatusOr<std::string> Object(const OJson& s, const std::string& name, int depth) {
    Use("ws");
    const OJson* props = s.contains("properties") ? &s["properties"] : nullptr;
    if (props != nullptr && !props->is_object()) return Error("properties must be an object");
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return Error("required must be an array");
      for (const OJson& r : s["required"]) {
        if (!r.is_string()) return Error("required must list strings");
        if (props == nullptr || !props->contains(r.get<std::string>())) {
          return Error("required property '" + r.get<std::string>() + "' is not in properties");
        }
        required.insert(r.get<std::string>());
      }
    }
    const OJson additional = s.value("additionalProperties", OJson(true));
    if (props == nullptr || props->empty()) {
      if (additional.is_boolean() && !additional.get<bool>()) return std::string(R"("{" ws "}")");
      if (additional.is_boolean()) return Use("object");
      KVS_ASSIGN_OR_RETURN(std::string v, Visit(additional, name + "-additional", depth + 1));
      Use("string");
      return AddRule(name, "\"{\" ws " + Repeated("string ws \":\" ws " + v + " ws", "\",\" ws", 0, -1) + " \"}\"");
    }
    // first[i]: properties i.. with none written yet; rest[i]: with some
    // written (so each is preceded by a comma).
    std::vector<std::string> kv;
    std::vector<bool> req;
    for (const auto& [key, sub] : props->items()) {
      KVS_ASSIGN_OR_RETURN(std::string v, Visit(sub, name + "-" + key, depth + 1));
      kv.push_back(GbnfLiteral(OJson(key).dump()) + " ws \":\" ws " + v + " ws");
      req.push_back(required.count(key) != 0);
    }
    const size_t n = kv.size();
    std::vector<std::string> first(n + 1, "\"\""), rest(n + 1, "\"\"");
    for (size_t i = n; i-- > 0;) {
      const std::string with = "\",\" ws " + kv[i] + " " + rest[i + 1];
      rest[i] = AddRule(name + "-rest", req[i] ? with : with + " | " + rest[i + 1]);
      const std::string start = kv[i] + " " + rest[i + 1];
      first[i] = AddRule(name + "-first", req[i] ? start : start + " | " + first[i + 1]);
    }
    return AddRule(name, "\"{\" ws " + first[0] + " \"}\"");
  }

  const OJson& root_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> defined_;
  std::unordered_map<std::string, std::string> refs_;
};

}  // namespace

StatusOr<std::string> JsonSchemaToGbnf(std::string_view schema_json) {
  OJson schema = OJson::parse(schema_json, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return InvalidArgumentError("JSON schema: not valid JSON");
  try {
    return SchemaConverter(schema).Convert();
  } catch (const OJson::exception& e) {
    return InvalidArgumentError(std::string("JSON schema: ") + e.what());
  }
}

std::string JsonObjectGbnf() {
  std::string out = "root ::= ws object ws\n";
  for (const Primitive& p : kPrimitives) out += std::string(p.name) + " ::= " + p.body + "\n";
  return out;
}

}  // namespace kvs
