#include "jinja/builtins.h"

#include "jinja/interpreter.h"

namespace kvs::jinja {
namespace {

StatusOr<Value> Range(Interpreter& in, CallArgs& a) {
  if (!a.keywords.empty() || a.positional.empty() || a.positional.size() > 3) {
    return InvalidArgumentError("range() takes 1 to 3 integer arguments");
  }
  int64_t v[3] = {0, 0, 1};
  for (size_t k = 0; k < a.positional.size(); ++k) {
    const Value& x = a.positional[k];
    if (!x.is_number() || x.kind() == Kind::kFloat) {
      return InvalidArgumentError(std::string("range() takes integers, got ") + x.TypeName());
    }
    v[a.positional.size() == 1 ? 1 : k] = x.AsInt();
  }
  int64_t start = v[0], stop = v[1], step = v[2];
  if (step == 0) return InvalidArgumentError("range() step must not be zero");
  long double n = step > 0 ? (static_cast<long double>(stop) - start + step - 1) / step
                           : (static_cast<long double>(start) - stop - step - 1) / -step;
  if (n > static_cast<long double>(in.limits().max_range)) {
    return ResourceExhaustedError("range() too big (over " + std::to_string(in.limits().max_range) +
                                  " items)");
  }
  std::vector<Value> out;
  for (int64_t x = start; step > 0 ? x < stop : x > stop; x += step) out.emplace_back(x);
  return Value::MakeList(std::move(out));
}

// namespace(d) / namespace(k=v, ...) and dict(...): a positional dict is
// copied, keywords are added in order.
StatusOr<Dict> KeywordDict(CallArgs& a, const char* fn) {
  Dict d;
  if (a.positional.size() > 1) return InvalidArgumentError(std::string(fn) + "() takes at most one positional argument");
  if (a.positional.size() == 1) {
    if (!a.positional[0].is_dict()) return InvalidArgumentError(std::string(fn) + "() takes a dict");
    d = a.positional[0].AsDict();
  }
  for (auto& [k, v] : a.keywords) d.Set(Value(k), v);
  return d;
}

}  // namespace

Value Builtin(const std::string& name) {
  if (name == "range") return Value::MakeCallable(Range, "range");
  if (name == "namespace") {
    return Value::MakeCallable(
        [](Interpreter& in, CallArgs& a) -> StatusOr<Value> {
          KVS_ASSIGN_OR_RETURN(Dict d, KeywordDict(a, "namespace"));
          return in.Track(Value::MakeNamespace(std::move(d)));
        },
        "namespace");
  }
  if (name == "dict") {
    return Value::MakeCallable(
        [](Interpreter&, CallArgs& a) -> StatusOr<Value> {
          KVS_ASSIGN_OR_RETURN(Dict d, KeywordDict(a, "dict"));
          return Value::MakeDict(std::move(d));
        },
        "dict");
  }
  return Value();
}

}  // namespace kvs::jinja
