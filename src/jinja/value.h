// Value: a Jinja runtime value with Python's semantics, as jinja2 sees the
// objects Hugging Face passes to chat templates (JSON-shaped data, strings,
// numbers, None) plus the few runtime kinds templates build (callables,
// namespaces).
//
// Ownership: lists, dicts, callables and namespaces are shared (a copy of a
// Value aliases the same container), as Python objects are. Templates cannot
// mutate lists or dicts (Hugging Face renders in jinja2's immutable
// sandbox); only a namespace's attributes change, through {% set ns.x = %}.
// Not thread-safe: a Value graph belongs to one render.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kvs::jinja {

class Value;
class Interpreter;

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

// An ordered dict (Python 3.7+ dicts keep insertion order). Lookups are
// linear: chat-template dicts are small.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* Find(const Value& key) const;
  const Value* Find(std::string_view key) const;
  void Set(Value key, Value value);
};

using Callable = std::function<StatusOr<Value>(Interpreter&, CallArgs&)>;

enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable, kNamespace };

class Value {
 public:
  Value() = default;  // undefined
  static Value None();
  Value(bool b);                   // NOLINT: implicit, as Python literals
  Value(int64_t i);                // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double f);                 // NOLINT
  Value(std::string s);            // NOLINT
  Value(const char* s) : Value(std::string(s)) {}  // NOLINT
  static Value MakeList(std::vector<Value> items);
  // A list that prints as a Python tuple: (a, b) / (a,). Otherwise a list.
  static Value MakeTuple(std::vector<Value> items);
  static Value MakeDict(Dict dict = {});
  static Value MakeNamespace(Dict attrs = {});
  static Value MakeCallable(Callable fn, std::string name);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }

  bool AsBool() const { return b_; }
  int64_t AsInt() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double AsFloat() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(AsInt()); }
  const std::string& AsString() const { return s_; }
  const std::vector<Value>& AsList() const { return *list_; }
  const Dict& AsDict() const { return *dict_; }   // kDict or kNamespace
  Dict& MutableNamespace() const { return *dict_; }  // REQUIRES: kNamespace
  // Whether another Value holds the same attributes. REQUIRES: kNamespace
  bool NamespaceShared() const { return dict_.use_count() > 1; }
  const Callable& AsCallable() const { return *fn_; }
  const std::string& callable_name() const { return s_; }

  // Python truthiness (undefined is false).
  bool Truthy() const;
  // Python str(): None -> "None", True -> "True", floats as repr, lists and
  // dicts as their repr; undefined -> "".
  std::string Str() const;
  // Python repr().
  std::string Repr() const;
  // Python ==.
  bool Equals(const Value& other) const;
  const char* TypeName() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;  // kBool: the value; kList: a tuple
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<std::vector<Value>> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Callable> fn_;
};

// Python's repr of a float: shortest round-trip digits, exponent form below
// 1e-4 and from 1e16, "inf"/"nan".
std::string PyFloatRepr(double f);
// Python's repr of a str (quote choice and escapes as CPython).
std::string PyStrRepr(std::string_view s);

// Python ordering (<) of numbers, strings and lists; InvalidArgument for
// unorderable types, as Python's TypeError.
StatusOr<bool> LessThan(const Value& a, const Value& b);

}  // namespace kvs::jinja
