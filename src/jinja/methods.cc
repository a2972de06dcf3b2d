#include "jinja/methods.h"

#include <cctype>

#include "jinja/args.h"
#include "jinja/py_string.h"

namespace kvs::jinja {
namespace {

using Fn = StatusOr<Value> (*)(const Value& self, CallArgs& a);

// startswith/endswith take a string or a tuple (list) of strings.
StatusOr<Value> Affix(const Value& self, CallArgs& a, bool start) {
  Value x = Arg(a, 0, "prefix");
  std::vector<Value> options = x.is_list() ? x.AsList() : std::vector<Value>{x};
  const std::string& s = self.AsString();
  for (const Value& o : options) {
    if (!o.is_string()) {
      return InvalidArgumentError(std::string(start ? "startswith" : "endswith") +
                                  "() takes a string or a tuple of strings, got " + o.TypeName());
    }
    const std::string& p = o.AsString();
    if (p.size() <= s.size() &&
        (start ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0)) {
      return Value(true);
    }
  }
  return Value(false);
}

StatusOr<Value> Strip(const Value& self, CallArgs& a, bool left, bool right) {
  KVS_ASSIGN_OR_RETURN(auto chars, OptStringArg(a, 0, "chars", "strip"));
  return Value(PyStrip(self.AsString(), chars, left, right));
}

StatusOr<Value> Split(const Value& self, CallArgs& a) {
  KVS_ASSIGN_OR_RETURN(auto sep, OptStringArg(a, 0, "sep", "split"));
  if (sep && sep->empty()) return InvalidArgumentError("split(): empty separator");
  KVS_ASSIGN_OR_RETURN(int64_t maxsplit, IntArg(a, 1, "maxsplit", -1, "split"));
  std::vector<Value> out;
  for (auto& p : PySplit(self.AsString(), sep, maxsplit)) out.emplace_back(std::move(p));
  return Value::MakeList(std::move(out));
}

StatusOr<Value> Replace(const Value& self, CallArgs& a) {
  Value from = Arg(a, 0, "old"), to = Arg(a, 1, "new");
  if (!from.is_string() || !to.is_string()) return InvalidArgumentError("replace() takes two strings");
  KVS_ASSIGN_OR_RETURN(int64_t count, IntArg(a, 2, "count", -1, "replace"));
  if (!from.AsString().empty() && !to.AsString().empty()) {
    // Bound the result before building it.
    size_t hits = 0;
    for (size_t p = self.AsString().find(from.AsString()); p != std::string::npos;
         p = self.AsString().find(from.AsString(), p + from.AsString().size())) {
      ++hits;
    }
    if (hits * to.AsString().size() > (64u << 20)) return ResourceExhaustedError("replace() result too large");
  } else if (from.AsString().empty() && self.AsString().size() * to.AsString().size() > (64u << 20)) {
    return ResourceExhaustedError("replace() result too large");
  }
  return Value(PyReplace(self.AsString(), from.AsString(), to.AsString(), count));
}

// str.format with {} / {0} / {name} fields (no format specs).
StatusOr<Value> Format(const Value& self, CallArgs& a) {
  const std::string& f = self.AsString();
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if ((c == '{' || c == '}') && i + 1 < f.size() && f[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '}') return InvalidArgumentError("format(): single '}' in format string");
    if (c != '{') {
      out += c;
      continue;
    }
    size_t e = f.find('}', i);
    if (e == std::string::npos) return InvalidArgumentError("format(): unclosed '{'");
    std::string field = f.substr(i + 1, e - i - 1);
    if (field.find_first_of(":!.[") != std::string::npos) {
      return InvalidArgumentError("format(): format specs are not supported");
    }
    Value v;
    if (field.empty()) {
      v = Arg(a, auto_index++, "");
    } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
      v = Arg(a, std::stoul(field.substr(0, 6)), "");
    } else {
      v = Arg(a, SIZE_MAX, field.c_str());
    }
    if (v.is_undefined()) return InvalidArgumentError("format(): no argument for {" + field + "}");
    out += v.Str();
    i = e;
  }
  return Value(std::move(out));
}

StatusOr<Value> Join(const Value& self, CallArgs& a) {
  Value items = Arg(a, 0, "iterable");
  if (!items.is_list()) return InvalidArgumentError("join() takes a list");
  std::string out;
  for (size_t k = 0; k < items.AsList().size(); ++k) {
    const Value& v = items.AsList()[k];
    if (!v.is_string()) return InvalidArgumentError("join(): sequence item is not a string");
    if (k) out += self.AsString();
    out += v.AsString();
    if (out.size() > (64u << 20)) return ResourceExhaustedError("join() result too large");
  }
  return Value(std::move(out));
}

template <int (*Pred)(int)>
StatusOr<Value> AllChars(const Value& self, CallArgs&) {
  const std::string& s = self.AsString();
  if (s.empty()) return Value(false);
  for (char c : s) {
    if (!Pred(static_cast<unsigned char>(c))) return Value(false);
  }
  return Value(true);
}

StatusOr<Value> StrMethod(const std::string& name, const Value& self, CallArgs& a) {
  const std::string& s = self.AsString();
  if (name == "startswith") return Affix(self, a, true);
  if (name == "endswith") return Affix(self, a, false);
  if (name == "strip") return Strip(self, a, true, true);
  if (name == "lstrip") return Strip(self, a, true, false);
  if (name == "rstrip") return Strip(self, a, false, true);
  if (name == "split") return Split(self, a);
  if (name == "replace") return Replace(self, a);
  if (name == "upper") return Value(PyUpper(s));
  if (name == "lower") return Value(PyLower(s));
  if (name == "title") return Value(PyTitle(s));
  if (name == "capitalize") return Value(PyCapitalize(s));
  if (name == "format") return Format(self, a);
  if (name == "join") return Join(self, a);
  if (name == "isdigit") return AllChars<std::isdigit>(self, a);
  if (name == "isalpha") return AllChars<std::isalpha>(self, a);
  if (name == "isalnum") return AllChars<std::isalnum>(self, a);
  if (name == "isspace") return AllChars<std::isspace>(self, a);
  Value sub = Arg(a, 0, "sub");
  if (!sub.is_string()) return InvalidArgumentError(name + "() takes a string");
  if (name == "find") {
    size_t p = s.find(sub.AsString());
    return Value(p == std::string::npos ? int64_t{-1}
                                        : static_cast<int64_t>(CodePointCount(s.substr(0, p))));
  }
  // count
  if (sub.AsString().empty()) return Value(static_cast<int64_t>(CodePointCount(s) + 1));
  int64_t n = 0;
  for (size_t p = s.find(sub.AsString()); p != std::string::npos;
       p = s.find(sub.AsString(), p + sub.AsString().size())) {
    ++n;
  }
  return Value(n);
}

StatusOr<Value> DictMethod(const std::string& name, const Value& self, CallArgs& a) {
  const Dict& d = self.AsDict();
  if (name == "get") {
    const Value* v = d.Find(Arg(a, 0, "key"));
    if (v) return *v;
    Value dflt = Arg(a, 1, "default");
    return dflt.is_undefined() ? Value::None() : dflt;
  }
  std::vector<Value> out;
  for (const auto& [k, v] : d.items) {
    if (name == "items") {
      out.push_back(Value::MakeTuple({k, v}));
    } else {
      out.push_back(name == "keys" ? k : v);
    }
  }
  return Value::MakeList(std::move(out));
}

bool IsOneOf(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (name == n) return true;
  }
  return false;
}

}  // namespace

Value BoundMethod(const Value& obj, const std::string& name) {
  if (obj.is_string() &&
      IsOneOf(name, {"startswith", "endswith", "strip", "lstrip", "rstrip", "split", "replace",
                     "upper", "lower", "title", "capitalize", "format", "join", "isdigit",
                     "isalpha", "isalnum", "isspace", "find", "count"})) {
    return Value::MakeCallable(
        [obj, name](Interpreter&, CallArgs& a) { return StrMethod(name, obj, a); }, name);
  }
  if (obj.is_dict() && IsOneOf(name, {"items", "keys", "values", "get"})) {
    return Value::MakeCallable(
        [obj, name](Interpreter&, CallArgs& a) { return DictMethod(name, obj, a); }, name);
  }
  if ((obj.is_list() && IsOneOf(name, {"append", "extend", "insert", "pop", "remove", "clear",
                                       "sort", "reverse"})) ||
      (obj.is_dict() && IsOneOf(name, {"update", "pop", "popitem", "setdefault", "clear"}))) {
    return Value::MakeCallable(
        [name](Interpreter&, CallArgs&) -> StatusOr<Value> {
          return InvalidArgumentError("'" + name +
                                      "' modifies its object, which the sandbox does not allow");
        },
        name);
  }
  return Value();
}

}  // namespace kvs::jinja
