// Template: a parsed Jinja template, ready to render many times.
//
//   KVS_ASSIGN_OR_RETURN(auto t, jinja::Template::Parse(text));
//   Dict context;  context.Set("messages", ...);
//   KVS_ASSIGN_OR_RETURN(std::string out, t->Render(context));
//
// Parse refuses anything outside the supported subset (see parser.h) with
// the construct and line, so errors surface when a model loads. Render runs
// under RenderLimits; errors (raise_exception, type errors, undefined
// values misused, limits) come back as a Status.
// Immutable after Parse: Render is const and thread-safe (each call has its
// own interpreter); the context's Values must not be shared across threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "jinja/ast.h"
#include "jinja/interpreter.h"
#include "jinja/value.h"

namespace kvs::jinja {

class Template {
 public:
  static StatusOr<std::unique_ptr<Template>> Parse(std::string_view source);

  StatusOr<std::string> Render(const Dict& context, const RenderLimits& limits = {}) const;

 private:
  explicit Template(NodeList nodes) : nodes_(std::move(nodes)) {}
  NodeList nodes_;
};

}  // namespace kvs::jinja
