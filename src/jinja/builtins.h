// jinja2's global functions available to every template: range (bounded as
// in its sandbox), namespace, dict. Anything else is undefined unless the
// context supplies it (Hugging Face's raise_exception and strftime_now come
// from hf_globals.h).
#pragma once

#include <string>

#include "jinja/value.h"

namespace kvs::jinja {

// The builtin named `name`, or undefined.
Value Builtin(const std::string& name);

}  // namespace kvs::jinja
