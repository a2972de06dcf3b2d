// The tests (x is name(args)) of jinja2 that chat templates use.
#include <cctype>
#include <set>

#include "jinja/args.h"
#include "jinja/interpreter.h"

namespace kvs::jinja {

bool IsFilterName(const std::string& name) {
  static const std::set<std::string> kFilters = {
      "safe", "e", "escape", "forceescape", "string", "tojson", "default", "d", "length", "count",
      "trim", "upper", "lower", "title", "capitalize", "replace", "indent", "first", "last",
      "join", "list", "items", "dictsort", "reverse", "sort", "unique", "min", "max", "sum",
      "abs", "round", "int", "float", "select", "reject", "selectattr", "rejectattr", "map",
      "attr"};
  return kFilters.count(name) > 0;
}

bool IsTestName(const std::string& name) {
  static const std::set<std::string> kTests = {
      "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
      "string", "mapping", "iterable", "sequence", "callable", "even", "odd", "divisibleby",
      "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan",
      ">", "ge", ">=", "in", "sameas", "lower", "upper", "escaped"};
  return kTests.count(name) > 0;
}

StatusOr<bool> Interpreter::ApplyTest(const std::string& name, const Value& v, CallArgs& a,
                                      int line) {
  Kind k = v.kind();
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return k == Kind::kBool;
  if (name == "true") return k == Kind::kBool && v.AsBool();
  if (name == "false") return k == Kind::kBool && !v.AsBool();
  if (name == "integer") return k == Kind::kInt;
  if (name == "float") return k == Kind::kFloat;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  // jinja2's Undefined is iterable (empty).
  if (name == "iterable") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_list() || v.is_dict();
  if (name == "callable") return k == Kind::kCallable;
  if (name == "escaped") return false;
  if (name == "lower" || name == "upper") {
    if (!v.is_string()) return false;
    bool any = false;
    for (char c : v.AsString()) {
      unsigned char u = static_cast<unsigned char>(c);
      if (std::isalpha(u)) {
        any = true;
        if (name == "lower" ? std::isupper(u) : std::islower(u)) return false;
      }
    }
    return any;
  }
  if (name == "even" || name == "odd" || name == "divisibleby") {
    if (!v.is_number() || k == Kind::kFloat) {
      return InvalidArgumentError("template line " + std::to_string(line) + ": test '" + name +
                                  "' needs an integer");
    }
    int64_t n = v.AsInt();
    if (name == "even") return n % 2 == 0;
    if (name == "odd") return n % 2 != 0;
    KVS_ASSIGN_OR_RETURN(int64_t d, IntArg(a, 0, "num", 0, "divisibleby"));
    if (d == 0) return InvalidArgumentError("template line " + std::to_string(line) + ": divisibleby(0)");
    return n % d == 0;
  }
  Value other = Arg(a, 0, "other");
  if (name == "eq" || name == "equalto" || name == "==") return v.Equals(other);
  if (name == "ne" || name == "!=") return !v.Equals(other);
  if (name == "sameas") {
    // Python `is`: identity; for the singletons templates compare against.
    if (v.kind() != other.kind()) return false;
    if (k == Kind::kNone || k == Kind::kUndefined) return true;
    if (k == Kind::kBool) return v.AsBool() == other.AsBool();
    return v.Equals(other) && (k == Kind::kInt || k == Kind::kString);
  }
  if (name == "in") {
    if (other.is_string()) return v.is_string() && other.AsString().find(v.AsString()) != std::string::npos;
    if (other.is_list()) {
      for (const Value& x : other.AsList()) {
        if (x.Equals(v)) return true;
      }
      return false;
    }
    if (other.is_dict()) return other.AsDict().Find(v) != nullptr;
    return InvalidArgumentError("template line " + std::to_string(line) + ": test 'in' needs a container");
  }
  bool lt_test = name == "lt" || name == "lessthan" || name == "<" || name == "le" || name == "<=";
  bool gt_test = name == "gt" || name == "greaterthan" || name == ">" || name == "ge" || name == ">=";
  if (lt_test || gt_test) {
    StatusOr<bool> lt = lt_test ? LessThan(v, other) : LessThan(other, v);
    if (!lt.ok()) return InvalidArgumentError("template line " + std::to_string(line) + ": " + lt.status().message());
    bool or_equal = name == "le" || name == "<=" || name == "ge" || name == ">=";
    return *lt || (or_equal && v.Equals(other));
  }
  return InvalidArgumentError("template line " + std::to_string(line) + ": unknown test '" + name + "'");
}

}  // namespace kvs::jinja
