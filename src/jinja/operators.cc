// Binary operators, slices and attribute/item access of the interpreter,
// with Python's semantics for the kinds Value has.
#include <algorithm>
#include <climits>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>

#include "jinja/interpreter.h"
#include "jinja/methods.h"
#include "jinja/py_string.h"

namespace kvs::jinja {
namespace {

Status LineError(int line, const std::string& what) {
  return InvalidArgumentError("template line " + std::to_string(line) + ": " + what);
}

Status OperandError(int line, const std::string& op, const Value& a, const Value& b) {
  return LineError(line, "unsupported operand types for " + op + ": '" + a.TypeName() + "' and '" +
                             b.TypeName() + "'");
}

bool IsFloat(const Value& v) { return v.kind() == Kind::kFloat; }

StatusOr<Value> Arithmetic(const std::string& op, const Value& a, const Value& b, int line) {
  if (!a.is_number() || !b.is_number()) return OperandError(line, op, a, b);
  bool fl = IsFloat(a) || IsFloat(b);
  if (op == "/") {
    if (b.AsFloat() == 0) return LineError(line, "division by zero");
    return Value(a.AsFloat() / b.AsFloat());
  }
  if (fl) {
    double x = a.AsFloat(), y = b.AsFloat();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "**") return Value(std::pow(x, y));
    if (y == 0) return LineError(line, "float division by zero");
    if (op == "//") return Value(std::floor(x / y));
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value(m);
  }
  int64_t x = a.AsInt(), y = b.AsInt(), r = 0;
  if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value(r);
  if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value(r);
  if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value(r);
  if (op == "//" || op == "%") {
    if (y == 0) return LineError(line, "integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) return LineError(line, "integer overflow");
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      --q;
      m += y;
    }
    return Value(op == "//" ? q : m);
  }
  if (op == "**") {
    if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
    int64_t p = 1;
    for (int64_t k = 0; k < y; ++k) {
      if (__builtin_mul_overflow(p, x, &p)) return LineError(line, "integer overflow");
      if (p == 0 || p == 1) break;
    }
    if (p == 1 && x == -1) p = (y % 2) ? -1 : 1;
    return Value(p);
  }
  return LineError(line, "integer overflow");
}

// s * n / list * n, refusing results over max_bytes before building them.
StatusOr<Value> Repeat(const Value& seq, int64_t n, size_t max_items, int line) {
  if (n <= 0) return seq.is_string() ? Value(std::string()) : Value::MakeList({});
  size_t unit = seq.is_string() ? seq.AsString().size() : seq.AsList().size();
  if (unit != 0 && static_cast<uint64_t>(n) > max_items / unit) {
    return ResourceExhaustedError("template line " + std::to_string(line) +
                                  ": repetition over the output limit");
  }
  if (seq.is_string()) {
    std::string out;
    for (int64_t k = 0; k < n; ++k) out += seq.AsString();
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.AsList().begin(), seq.AsList().end());
  return Value::MakeList(std::move(out));
}

template <typename T>
std::string CFormat(const std::string& spec, T value) {
  int n = std::snprintf(nullptr, 0, spec.c_str(), value);
  if (n <= 0) return "";
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), spec.c_str(), value);
  out.resize(static_cast<size_t>(n));
  return out;
}

// Python's printf-style `fmt % args` for the conversions templates use:
// %s %r %d %i %f %x %% with an optional width and .precision; `args` is a
// tuple (several values) or one value.
StatusOr<Value> PercentFormat(const std::string& fmt, const Value& args, int line) {
  std::vector<Value> values =
      args.is_list() && args.AsBool() ? args.AsList() : std::vector<Value>{args};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    size_t j = i + 1;
    std::string spec = "%";
    while (j < fmt.size() && std::string("-+ 0#").find(fmt[j]) != std::string::npos) spec += fmt[j++];
    // Width and precision: up to 4 digits each (bounded output).
    size_t width = 0;
    for (int k = 0; j < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[j])) && k < 4; ++k) {
      width = width * 10 + (fmt[j] - '0');
      spec += fmt[j++];
    }
    std::optional<size_t> precision;
    if (j < fmt.size() && fmt[j] == '.') {
      spec += fmt[j++];
      precision = 0;
      for (int k = 0; j < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[j])) && k < 4; ++k) {
        *precision = *precision * 10 + (fmt[j] - '0');
        spec += fmt[j++];
      }
    }
    if (j >= fmt.size()) return LineError(line, "incomplete format");
    char conv = fmt[j];
    i = j;
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (next >= values.size()) return LineError(line, "not enough arguments for format string");
    const Value& v = values[next++];
    if (conv == 's' || conv == 'r') {
      std::string text = conv == 's' ? v.Str() : v.Repr();
      std::vector<size_t> off = CodePointOffsets(text);
      size_t n_cps = off.size() - 1;
      if (precision && *precision < n_cps) {
        text.resize(off[*precision]);
        n_cps = *precision;
      }
      std::string pad(width > n_cps ? width - n_cps : 0, ' ');
      out += spec.find('-') != std::string::npos ? text + pad : pad + text;
    } else if (conv == 'd' || conv == 'i' || conv == 'x' || conv == 'X' || conv == 'o') {
      if (!v.is_number()) return LineError(line, std::string("%") + conv + " format: a number is required");
      long long n = v.kind() == Kind::kFloat ? static_cast<long long>(v.AsFloat()) : v.AsInt();
      out += CFormat(spec + "ll" + (conv == 'i' ? 'd' : conv), n);
    } else if (conv == 'f' || conv == 'F' || conv == 'e' || conv == 'E' || conv == 'g' || conv == 'G') {
      if (!v.is_number()) return LineError(line, std::string("%") + conv + " format: a number is required");
      out += CFormat(spec + conv, v.AsFloat());
    } else {
      return LineError(line, std::string("unsupported format character '") + conv + "'");
    }
  }
  if (next < values.size()) return LineError(line, "not all arguments converted during string formatting");
  return Value(std::move(out));
}

}  // namespace

StatusOr<Value> Interpreter::EvalBinary(const Expr& e) {
  const std::string& op = e.name;
  KVS_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0]));
  if (op == "and") return a.Truthy() ? Eval(*e.args[1]) : a;
  if (op == "or") return a.Truthy() ? a : Eval(*e.args[1]);
  KVS_ASSIGN_OR_RETURN(Value b, Eval(*e.args[1]));
  if (op == "==") return Value(a.Equals(b));
  if (op == "!=") return Value(!a.Equals(b));
  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    StatusOr<bool> lt = op[0] == '<' ? LessThan(a, b) : LessThan(b, a);
    if (!lt.ok()) return LineError(e.line, lt.status().message());
    if (op.size() == 1) return Value(*lt);
    return Value(*lt || a.Equals(b));
  }
  if (op == "in" || op == "not in") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string()) {
        return LineError(e.line, std::string("'in <string>' requires string as left operand, not ") +
                                     a.TypeName());
      }
      found = b.AsString().find(a.AsString()) != std::string::npos;
    } else if (b.is_list()) {
      for (const Value& x : b.AsList()) found = found || x.Equals(a);
    } else if (b.is_dict()) {
      found = b.AsDict().Find(a) != nullptr;
    } else if (!b.is_undefined()) {
      return LineError(e.line, std::string("argument of type '") + b.TypeName() + "' is not iterable");
    }
    return Value(found != (op == "not in"));
  }
  if (op == "~") {
    KVS_RETURN_IF_ERROR(Charge(a.is_string() ? a.AsString().size() : 0));
    return Value(a.Str() + b.Str());
  }
  if (a.is_undefined() || b.is_undefined()) {
    return LineError(e.line, "undefined value used with '" + op + "'");
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.AsString().size() + b.AsString().size() > limits_.max_output_bytes) {
        return ResourceExhaustedError("template built a string over the output limit");
      }
      return Value(a.AsString() + b.AsString());
    }
    if (a.is_list() && b.is_list()) {
      if (a.AsList().size() + b.AsList().size() > limits_.max_output_bytes) {
        return ResourceExhaustedError("template built a list over the output limit");
      }
      std::vector<Value> out = a.AsList();
      out.insert(out.end(), b.AsList().begin(), b.AsList().end());
      return Value::MakeList(std::move(out));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && b.is_number() && !IsFloat(b)) {
      return Repeat(a, b.AsInt(), limits_.max_output_bytes, e.line);
    }
    if ((b.is_string() || b.is_list()) && a.is_number() && !IsFloat(a)) {
      return Repeat(b, a.AsInt(), limits_.max_output_bytes, e.line);
    }
  }
  if (op == "%" && a.is_string()) return PercentFormat(a.AsString(), b, e.line);
  return Arithmetic(op, a, b, e.line);
}

StatusOr<Value> Interpreter::EvalSlice(const Expr& e) {
  KVS_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
  int64_t bound[3] = {0, 0, 1};
  bool given[3] = {false, false, false};
  for (int k = 0; k < 3; ++k) {
    if (!e.args[k + 1]) continue;
    KVS_ASSIGN_OR_RETURN(Value v, Eval(*e.args[k + 1]));
    if (v.is_none()) continue;
    if (!v.is_number() || IsFloat(v)) return LineError(e.line, "slice indices must be integers");
    bound[k] = v.AsInt();
    given[k] = true;
  }
  int64_t step = bound[2];
  if (step == 0) return LineError(e.line, "slice step cannot be zero");
  std::vector<size_t> off;
  int64_t len;
  if (obj.is_string()) {
    off = CodePointOffsets(obj.AsString());
    len = static_cast<int64_t>(off.size()) - 1;
  } else if (obj.is_list()) {
    len = static_cast<int64_t>(obj.AsList().size());
  } else {
    return LineError(e.line, std::string("'") + obj.TypeName() + "' object cannot be sliced");
  }
  // Python's slice.indices().
  auto clamp = [&](int64_t v, bool is_given, int64_t dflt) {
    if (!is_given) return dflt;
    if (v < 0) v += len;
    if (step > 0) return std::clamp<int64_t>(v, 0, len);
    return std::clamp<int64_t>(v, -1, len - 1);
  };
  int64_t start = clamp(bound[0], given[0], step > 0 ? 0 : len - 1);
  int64_t stop = clamp(bound[1], given[1], step > 0 ? len : -1);
  std::vector<int64_t> idx;
  for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) idx.push_back(k);
  KVS_RETURN_IF_ERROR(Charge(idx.size()));
  if (obj.is_string()) {
    std::string out;
    for (int64_t k : idx) out += obj.AsString().substr(off[k], off[k + 1] - off[k]);
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t k : idx) out.push_back(obj.AsList()[k]);
  return Value::MakeList(std::move(out));
}

StatusOr<Value> Interpreter::GetAttr(const Value& obj, const std::string& name, int line) {
  if (obj.is_undefined()) return LineError(line, "'" + name + "' of an undefined value");
  if (obj.kind() == Kind::kNamespace) {
    const Value* v = obj.AsDict().Find(std::string_view(name));
    return v ? *v : Value();
  }
  // Python attributes (methods) first, then items, as jinja2's getattr.
  Value method = BoundMethod(obj, name);
  if (!method.is_undefined()) return method;
  if (obj.is_dict()) {
    const Value* v = obj.AsDict().Find(std::string_view(name));
    return v ? *v : Value();
  }
  return Value();
}

StatusOr<Value> Interpreter::GetItem(const Value& obj, const Value& key, int line) {
  if (obj.is_undefined()) return LineError(line, "subscript of an undefined value");
  if (obj.is_dict() || obj.kind() == Kind::kNamespace) {
    if (obj.is_dict()) {
      const Value* v = obj.AsDict().Find(key);
      if (v) return *v;
    }
    if (key.is_string()) return GetAttr(obj, key.AsString(), line);
    return Value();
  }
  if ((obj.is_list() || obj.is_string()) && key.is_number() && !IsFloat(key)) {
    int64_t i = key.AsInt();
    if (obj.is_list()) {
      int64_t n = static_cast<int64_t>(obj.AsList().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value();
      return obj.AsList()[i];
    }
    std::vector<size_t> off = CodePointOffsets(obj.AsString());
    int64_t n = static_cast<int64_t>(off.size()) - 1;
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value();
    return Value(obj.AsString().substr(off[i], off[i + 1] - off[i]));
  }
  if (key.is_string()) return GetAttr(obj, key.AsString(), line);
  return Value();
}

}  // namespace kvs::jinja
