// The globals Hugging Face's apply_chat_template adds for templates:
// raise_exception(message) (fails the render with that message) and
// strftime_now(format) (the time as C strftime formats it). The clock is
// passed in, so tests and the oracle comparison render a fixed date.
#pragma once

#include <ctime>

#include "jinja/value.h"

namespace kvs::jinja {

// Adds raise_exception and strftime_now to `context`; `now` is the local
// time strftime_now formats.
void AddHfGlobals(const std::tm& now, Dict* context);

// The raise_exception error's message prefix, so callers can tell a
// template's own refusal (a client error) from a template bug.
inline constexpr char kRaisedByTemplate[] = "chat template: ";

}  // namespace kvs::jinja
