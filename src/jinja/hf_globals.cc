#include "jinja/hf_globals.h"

#include <string>

#include "jinja/interpreter.h"

namespace kvs::jinja {

void AddHfGlobals(const std::tm& now, Dict* context) {
  context->Set(Value("raise_exception"),
               Value::MakeCallable(
                   [](Interpreter&, CallArgs& a) -> StatusOr<Value> {
                     std::string msg = a.positional.empty() ? "" : a.positional[0].Str();
                     return InvalidArgumentError(kRaisedByTemplate + msg);
                   },
                   "raise_exception"));
  context->Set(Value("strftime_now"),
               Value::MakeCallable(
                   [now](Interpreter&, CallArgs& a) -> StatusOr<Value> {
                     if (a.positional.empty() || !a.positional[0].is_string()) {
                       return InvalidArgumentError("strftime_now() takes a format string");
                     }
                     const std::string& fmt = a.positional[0].AsString();
                     if (fmt.size() > 256) return InvalidArgumentError("strftime_now(): format too long");
                     char buf[2048];
                     size_t n = fmt.empty() ? 0 : std::strftime(buf, sizeof(buf), fmt.c_str(), &now);
                     return Value(std::string(buf, n));
                   },
                   "strftime_now"));
}

}  // namespace kvs::jinja
