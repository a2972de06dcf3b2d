// Interpreter: renders a parsed template (NodeList) against a context, with
// jinja2's semantics as Hugging Face configures it (immutable sandbox: no
// list or dict mutation; undefined values print as "" and fail when used
// as numbers, called or indexed).
//
// Scoping follows jinja2 where chat templates can tell: a for loop body is a
// scope of its own (its {% set %} does not leak out), if blocks are not,
// macros see the template's top level and their parameters; a namespace is
// the way to carry state out of a loop.
//
// Limits (RenderLimits) bound what a hostile template can make the server
// do: output bytes, loop iterations, macro call depth, and a work budget
// charged per evaluated node and per byte or element a value is built
// from, so every render ends quickly with either text or an error.
// One Interpreter serves one render; not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "jinja/ast.h"
#include "jinja/value.h"

namespace kvs::jinja {

struct RenderLimits {
  size_t max_output_bytes = 4 << 20;   // also the longest string a value may hold
  int64_t max_loop_iterations = 1 << 20;  // all loops of the render together
  int max_call_depth = 16;             // nested macro calls
  int64_t max_work = 64 << 20;         // nodes evaluated + bytes/elements built
  size_t max_range = 100000;           // as jinja2's sandbox
};

class Interpreter {
 public:
  Interpreter(const RenderLimits& limits, std::string* out) : limits_(limits), out_(out) {}
  // Empties the render's namespaces: one set as its own attribute (or
  // through a list or loop) would otherwise keep itself alive.
  ~Interpreter();

  // Records a namespace created by this render (see the destructor).
  Value Track(Value ns) {
    if (namespaces_.size() >= next_sweep_) SweepNamespaces();
    namespaces_.push_back(ns);
    return ns;
  }

  // Renders nodes with `context` as the global variables.
  Status Render(const NodeList& nodes, const Dict& context);

  StatusOr<Value> Eval(const Expr& e);
  StatusOr<Value> Call(const Value& fn, CallArgs& args, int line);
  StatusOr<Value> ApplyFilter(const std::string& name, const Value& input, CallArgs& args,
                              int line);
  StatusOr<bool> ApplyTest(const std::string& name, const Value& input, CallArgs& args,
                           int line);
  // Attribute (x.name) and item (x[key]) access with jinja2's fallbacks;
  // missing -> undefined.
  StatusOr<Value> GetAttr(const Value& obj, const std::string& name, int line);
  StatusOr<Value> GetItem(const Value& obj, const Value& key, int line);

  // Charges `n` units of work; ResourceExhausted once over the budget.
  Status Charge(size_t n);
  // Charges for a built string or list and checks it against the size limit.
  Status CheckBuilt(const Value& v);
  const RenderLimits& limits() const { return limits_; }

 private:
  using Frame = std::unordered_map<std::string, Value>;
  enum class Flow { kNormal, kBreak, kContinue };

  Status Exec(const NodeList& nodes);
  Status ExecNode(const Node& n);
  Status ExecFor(const Node& n);
  Status ExecSet(const Node& n);
  Status Emit(std::string_view s);
  Value Lookup(const std::string& name) const;
  void Assign(const std::string& name, Value v);
  Value MakeMacro(const Node& n);
  StatusOr<Value> EvalBinary(const Expr& e);
  StatusOr<Value> EvalSlice(const Expr& e);
  StatusOr<CallArgs> EvalArgs(const Expr& e, size_t first);
  // Drops the recorded namespaces that nothing else holds (none of them can
  // be in a cycle). Run when the list has doubled since the last sweep, so
  // that a loop making one namespace per iteration holds about as many as
  // are still reachable, at linear cost.
  void SweepNamespaces();

  const RenderLimits& limits_;
  std::string* out_;
  std::vector<std::shared_ptr<Frame>> frames_;  // [0]: globals; innermost last
  Flow flow_ = Flow::kNormal;
  int64_t loop_iterations_ = 0;
  int64_t work_ = 0;
  int call_depth_ = 0;
  std::vector<Value> namespaces_;
  size_t next_sweep_ = 64;
};

// Whether a filter / test of this name exists (checked when parsing, so an
// unknown one fails at model load).
bool IsFilterName(const std::string& name);
bool IsTestName(const std::string& name);

// Python iteration: list items, dict keys, string code points; undefined is
// empty; other kinds are an error.
StatusOr<std::vector<Value>> Iterate(const Value& v);

}  // namespace kvs::jinja
