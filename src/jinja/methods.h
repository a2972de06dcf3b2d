// Python methods templates call on values: str (startswith, split, strip,
// replace, format, ...) and dict (items, keys, values, get). List and dict
// mutators exist but fail, as in jinja2's immutable sandbox.
#pragma once

#include <string>

#include "jinja/value.h"

namespace kvs::jinja {

// obj.name bound as a callable, or undefined when obj has no such method.
Value BoundMethod(const Value& obj, const std::string& name);

}  // namespace kvs::jinja
