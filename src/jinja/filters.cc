// The filters (x | name(args)) chat templates use, with jinja2's behavior
// under Hugging Face's settings (tojson is Hugging Face's own).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "jinja/args.h"
#include "jinja/interpreter.h"
#include "jinja/json.h"
#include "jinja/py_string.h"

namespace kvs::jinja {
namespace {

Status FilterError(int line, const std::string& name, const std::string& what) {
  return InvalidArgumentError("template line " + std::to_string(line) + ": filter '" + name +
                              "': " + what);
}

// jinja2's attribute lookup for selectattr/map/join/sort: "a.b" and "0" walk.
StatusOr<Value> Attribute(Interpreter& in, const Value& v, const std::string& path, int line) {
  Value cur = v;
  for (const std::string& part : PySplit(path, std::string("."), -1)) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    if (digits) {
      KVS_ASSIGN_OR_RETURN(cur, in.GetItem(cur, Value(static_cast<int64_t>(std::atoll(part.c_str()))), line));
    } else {
      KVS_ASSIGN_OR_RETURN(cur, in.GetItem(cur, Value(part), line));
    }
    if (cur.is_undefined()) break;
  }
  return cur;
}

StatusOr<Value> SelectOrReject(Interpreter& in, const std::string& name, const Value& input,
                               CallArgs& a, int line) {
  bool by_attr = name == "selectattr" || name == "rejectattr";
  bool select = name == "select" || name == "selectattr";
  KVS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  size_t k = 0;
  std::string attr;
  if (by_attr) {
    if (a.positional.empty() || !a.positional[0].is_string()) {
      return FilterError(line, name, "needs an attribute name");
    }
    attr = a.positional[k++].AsString();
  }
  std::string test;
  if (k < a.positional.size()) {
    if (!a.positional[k].is_string()) return FilterError(line, name, "the test name must be a string");
    test = a.positional[k++].AsString();
  }
  CallArgs test_args;
  test_args.positional.assign(a.positional.begin() + k, a.positional.end());
  std::vector<Value> out;
  for (const Value& item : items) {
    Value v = item;
    if (by_attr) {
      KVS_ASSIGN_OR_RETURN(v, Attribute(in, item, attr, line));
    }
    bool ok;
    if (test.empty()) {
      ok = v.Truthy();
    } else {
      CallArgs ta = test_args;
      KVS_ASSIGN_OR_RETURN(ok, in.ApplyTest(test, v, ta, line));
    }
    if (ok == select) out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

StatusOr<Value> Map(Interpreter& in, const Value& input, CallArgs& a, int line) {
  KVS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  Value attr = Arg(a, SIZE_MAX, "attribute");
  std::vector<Value> out;
  if (!attr.is_undefined()) {
    Value dflt = Arg(a, SIZE_MAX, "default");
    for (const Value& item : items) {
      KVS_ASSIGN_OR_RETURN(Value v, Attribute(in, item, attr.Str(), line));
      out.push_back(v.is_undefined() && !dflt.is_undefined() ? dflt : v);
    }
    return Value::MakeList(std::move(out));
  }
  if (a.positional.empty() || !a.positional[0].is_string()) {
    return FilterError(line, "map", "needs a filter name or attribute=");
  }
  std::string filter = a.positional[0].AsString();
  for (const Value& item : items) {
    CallArgs fa;
    fa.positional.assign(a.positional.begin() + 1, a.positional.end());
    fa.keywords = a.keywords;
    KVS_ASSIGN_OR_RETURN(Value v, in.ApplyFilter(filter, item, fa, line));
    out.push_back(std::move(v));
  }
  return Value::MakeList(std::move(out));
}

StatusOr<Value> ToJsonFilter(const Value& input, CallArgs& a, int line) {
  JsonDumpOptions o;
  Value indent = Arg(a, 0, "indent");
  if (indent.is_number() && indent.kind() != Kind::kFloat) {
    o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(indent.AsInt(), 0, 64)), ' ');
  } else if (indent.is_string()) {
    o.indent = indent.AsString();
  } else if (!indent.is_undefined() && !indent.is_none()) {
    return FilterError(line, "tojson", "indent must be an integer or a string");
  }
  if (o.indent) o.item_separator = ",";
  o.ensure_ascii = Arg(a, SIZE_MAX, "ensure_ascii").Truthy();
  o.sort_keys = Arg(a, SIZE_MAX, "sort_keys").Truthy();
  Value seps = Arg(a, SIZE_MAX, "separators");
  if (seps.is_list() && seps.AsList().size() == 2 && seps.AsList()[0].is_string() &&
      seps.AsList()[1].is_string()) {
    o.item_separator = seps.AsList()[0].AsString();
    o.key_separator = seps.AsList()[1].AsString();
  }
  StatusOr<std::string> s = ToJson(input, o);
  if (!s.ok()) return FilterError(line, "tojson", s.status().message());
  return Value(*std::move(s));
}

// jinja2's indent: the first line stays unless first=True; blank lines stay
// blank unless blank=True.
Value Indent(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::vector<std::string> lines;
  std::string text = s + "\n";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t e = text.find_first_of("\r\n", pos);
    lines.push_back(text.substr(pos, e - pos));
    pos = e + ((text[e] == '\r' && e + 1 < text.size() && text[e + 1] == '\n') ? 2 : 1);
  }
  std::string out = lines.empty() ? "" : lines[0];
  for (size_t k = 1; k < lines.size(); ++k) {
    out += "\n";
    if (blank || !lines[k].empty()) out += pad;
    out += lines[k];
  }
  return Value(first ? pad + out : out);
}

StatusOr<Value> ToInt(const Value& v, const Value& dflt) {
  if (v.is_number()) return Value(v.kind() == Kind::kFloat ? static_cast<int64_t>(v.AsFloat()) : v.AsInt());
  if (v.is_string()) {
    std::string s = PyStrip(v.AsString(), std::nullopt, true, true);
    char* end = nullptr;
    long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && *end == '\0') return Value(static_cast<int64_t>(i));
    double f = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0' && std::isfinite(f)) return Value(static_cast<int64_t>(f));
  }
  return dflt.is_undefined() ? Value(int64_t{0}) : dflt;
}

StatusOr<Value> ToFloat(const Value& v, const Value& dflt) {
  if (v.is_number()) return Value(v.AsFloat());
  if (v.is_string()) {
    std::string s = PyStrip(v.AsString(), std::nullopt, true, true);
    char* end = nullptr;
    double f = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0') return Value(f);
  }
  return dflt.is_undefined() ? Value(0.0) : dflt;
}

}  // namespace

StatusOr<Value> Interpreter::ApplyFilter(const std::string& name, const Value& in, CallArgs& a,
                                         int line) {
  auto need_string = [&]() -> Status {
    if (in.is_string()) return Status();
    return FilterError(line, name, std::string("expects a string, got ") + in.TypeName());
  };
  if (name == "safe" || name == "e" || name == "escape" || name == "forceescape") {
    if (name == "safe") return in;
    KVS_RETURN_IF_ERROR(need_string());
    std::string out;
    for (char c : in.AsString()) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
      }
    }
    return Value(std::move(out));
  }
  if (name == "string") return Value(in.Str());
  if (name == "tojson") return ToJsonFilter(in, a, line);
  if (name == "default" || name == "d") {
    bool boolean = Arg(a, 1, "boolean").Truthy();
    bool use_default = in.is_undefined() || (boolean && !in.Truthy());
    if (!use_default) return in;
    Value d = Arg(a, 0, "default_value");
    return d.is_undefined() ? Value(std::string()) : d;
  }
  if (name == "length" || name == "count") {
    if (in.is_string()) return Value(static_cast<int64_t>(CodePointCount(in.AsString())));
    if (in.is_list()) return Value(static_cast<int64_t>(in.AsList().size()));
    if (in.is_dict()) return Value(static_cast<int64_t>(in.AsDict().items.size()));
    if (in.is_undefined()) return Value(int64_t{0});
    return FilterError(line, name, std::string("object of type '") + in.TypeName() + "' has no len()");
  }
  if (name == "trim") {
    KVS_RETURN_IF_ERROR(need_string());
    KVS_ASSIGN_OR_RETURN(auto chars, OptStringArg(a, 0, "chars", "trim"));
    return Value(PyStrip(in.AsString(), chars, true, true));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    std::string s = in.Str();
    if (name == "upper") return Value(PyUpper(s));
    if (name == "lower") return Value(PyLower(s));
    if (name == "title") return Value(PyTitle(s));
    return Value(PyCapitalize(s));
  }
  if (name == "replace") {
    Value from = Arg(a, 0, "old"), to = Arg(a, 1, "new");
    if (!from.is_string() || !to.is_string()) return FilterError(line, name, "takes two strings");
    KVS_ASSIGN_OR_RETURN(int64_t count, IntArg(a, 2, "count", -1, "replace"));
    std::string s = in.Str();
    if (from.AsString().empty() ? s.size() * to.AsString().size() > limits_.max_output_bytes
                                : to.AsString().size() > from.AsString().size() &&
                                      s.size() / from.AsString().size() * to.AsString().size() >
                                          limits_.max_output_bytes) {
      return ResourceExhaustedError("template line " + std::to_string(line) + ": replace result too large");
    }
    return Value(PyReplace(s, from.AsString(), to.AsString(), count));
  }
  if (name == "indent") {
    Value w = Arg(a, 0, "width");
    std::string pad = w.is_string() ? w.AsString()
                                    : std::string(std::clamp<int64_t>(w.is_undefined() ? 4 : w.AsInt(), 0, 256), ' ');
    std::string s = in.Str();
    size_t n_lines = std::count(s.begin(), s.end(), '\n') + 1;
    if (n_lines * pad.size() > limits_.max_output_bytes) {
      return ResourceExhaustedError("template line " + std::to_string(line) + ": indent result too large");
    }
    return Indent(s, pad, Arg(a, 1, "first").Truthy(), Arg(a, 2, "blank").Truthy());
  }
  if (name == "first" || name == "last") {
    KVS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in));
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    KVS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in));
    Value sep = Arg(a, 0, "d");
    Value attr = Arg(a, 1, "attribute");
    std::string out;
    for (size_t k = 0; k < items.size(); ++k) {
      if (k) out += sep.is_undefined() ? "" : sep.Str();
      Value v = items[k];
      if (!attr.is_undefined()) {
        KVS_ASSIGN_OR_RETURN(v, Attribute(*this, v, attr.Str(), line));
      }
      out += v.Str();
      if (out.size() > limits_.max_output_bytes) return ResourceExhaustedError("join result too large");
    }
    return Value(std::move(out));
  }
  if (name == "list") {
    KVS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in));
    return Value::MakeList(std::move(items));
  }
  if (name == "items") {
    if (in.is_undefined()) return Value::MakeList({});
    if (!in.is_dict()) return FilterError(line, name, "expects a mapping");
    std::vector<Value> out;
    for (const auto& [k, v] : in.AsDict().items) out.push_back(Value::MakeTuple({k, v}));
    return Value::MakeList(std::move(out));
  }
  if (name == "dictsort") {
    if (!in.is_dict()) return FilterError(line, name, "expects a mapping");
    std::vector<Value> out;
    for (const auto& [k, v] : in.AsDict().items) out.push_back(Value::MakeTuple({k, v}));
    bool by_value = Arg(a, 1, "by").Str() == "value";
    Status err;
    std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
      Value l = x.AsList()[by_value], r = y.AsList()[by_value];
      if (l.is_string() && r.is_string() && !Arg(a, 0, "case_sensitive").Truthy()) {
        l = Value(PyLower(l.AsString()));
        r = Value(PyLower(r.AsString()));
      }
      StatusOr<bool> lt = LessThan(l, r);
      if (!lt.ok()) err = lt.status();
      return lt.ok() && *lt;
    });
    KVS_RETURN_IF_ERROR(err);
    return Value::MakeList(std::move(out));
  }
  if (name == "reverse") {
    if (in.is_string()) {
      std::vector<size_t> off = CodePointOffsets(in.AsString());
      std::string out;
      for (size_t k = off.size() - 1; k > 0; --k) out += in.AsString().substr(off[k - 1], off[k] - off[k - 1]);
      return Value(std::move(out));
    }
    KVS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in));
    std::reverse(items.begin(), items.end());
    return Value::MakeList(std::move(items));
  }
  if (name == "sort" || name == "unique" || name == "min" || name == "max") {
    KVS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in));
    Value attr = Arg(a, name == "sort" ? 2 : name == "unique" ? 1 : 1, "attribute");
    bool case_sensitive = Arg(a, name == "sort" ? 1 : 0, "case_sensitive").Truthy();
    std::vector<Value> keys;
    for (const Value& v : items) {
      Value key = v;
      if (!attr.is_undefined()) {
        KVS_ASSIGN_OR_RETURN(key, Attribute(*this, v, attr.Str(), line));
      }
      if (key.is_string() && !case_sensitive) key = Value(PyLower(key.AsString()));
      keys.push_back(std::move(key));
    }
    if (name == "unique") {
      std::vector<Value> out, seen;
      for (size_t k = 0; k < items.size(); ++k) {
        bool dup = false;
        for (const Value& s : seen) dup = dup || s.Equals(keys[k]);
        if (!dup) {
          seen.push_back(keys[k]);
          out.push_back(items[k]);
        }
      }
      return Value::MakeList(std::move(out));
    }
    std::vector<size_t> order(items.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    Status err;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      StatusOr<bool> lt = LessThan(keys[x], keys[y]);
      if (!lt.ok()) err = lt.status();
      return lt.ok() && *lt;
    });
    KVS_RETURN_IF_ERROR(err);
    if (name == "min") return items.empty() ? Value() : items[order.front()];
    if (name == "max") return items.empty() ? Value() : items[order.back()];
    bool reverse = Arg(a, 0, "reverse").Truthy();
    if (reverse) std::reverse(order.begin(), order.end());
    std::vector<Value> out;
    for (size_t k : order) out.push_back(items[k]);
    return Value::MakeList(std::move(out));
  }
  if (name == "sum") {
    KVS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in));
    Value total = Arg(a, 1, "start");
    if (total.is_undefined()) total = Value(int64_t{0});
    Value attr = Arg(a, 0, "attribute");
    for (const Value& v : items) {
      Value x = v;
      if (!attr.is_undefined()) {
        KVS_ASSIGN_OR_RETURN(x, Attribute(*this, v, attr.Str(), line));
      }
      if (!x.is_number() || !total.is_number()) return FilterError(line, name, "sums numbers only");
      total = total.kind() == Kind::kFloat || x.kind() == Kind::kFloat ? Value(total.AsFloat() + x.AsFloat())
                                                                      : Value(total.AsInt() + x.AsInt());
    }
    return total;
  }
  if (name == "abs") {
    if (!in.is_number()) return FilterError(line, name, "expects a number");
    return in.kind() == Kind::kFloat ? Value(std::fabs(in.AsFloat())) : Value(static_cast<int64_t>(std::llabs(in.AsInt())));
  }
  if (name == "round") {
    if (!in.is_number()) return FilterError(line, name, "expects a number");
    KVS_ASSIGN_OR_RETURN(int64_t precision, IntArg(a, 0, "precision", 0, "round"));
    std::string method = Arg(a, 1, "method").is_string() ? Arg(a, 1, "method").AsString() : "common";
    double scale = std::pow(10.0, static_cast<double>(std::clamp<int64_t>(precision, -300, 300)));
    double x = in.AsFloat() * scale;
    // Python rounds half to even.
    x = method == "floor" ? std::floor(x) : method == "ceil" ? std::ceil(x) : std::nearbyint(x);
    return Value(x / scale);
  }
  if (name == "int") return ToInt(in, Arg(a, 0, "default"));
  if (name == "float") return ToFloat(in, Arg(a, 0, "default"));
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    return SelectOrReject(*this, name, in, a, line);
  }
  if (name == "map") return Map(*this, in, a, line);
  if (name == "attr") {
    Value n = Arg(a, 0, "name");
    if (!n.is_string()) return FilterError(line, name, "needs an attribute name");
    return GetAttr(in, n.AsString(), line);
  }
  if (name == "batch" || name == "slice" || name == "groupby" || name == "format" ||
      name == "wordwrap" || name == "urlencode" || name == "xmlattr" || name == "pprint") {
    return FilterError(line, name, "is not supported");
  }
  return InvalidArgumentError("template line " + std::to_string(line) + ": unknown filter '" +
                              name + "'");
}

}  // namespace kvs::jinja
