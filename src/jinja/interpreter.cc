#include "jinja/interpreter.h"

#include <algorithm>
#include <cmath>

#include "jinja/builtins.h"
#include "jinja/py_string.h"

namespace kvs::jinja {
namespace {

Status LineError(int line, const std::string& what) {
  return InvalidArgumentError("template line " + std::to_string(line) + ": " + what);
}

}  // namespace

StatusOr<std::vector<Value>> Iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return std::vector<Value>{};
    case Kind::kList:
      return v.AsList();
    case Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& kv : v.AsDict().items) keys.push_back(kv.first);
      return keys;
    }
    case Kind::kString: {
      std::vector<Value> chars;
      const std::string& s = v.AsString();
      std::vector<size_t> off = CodePointOffsets(s);
      for (size_t k = 0; k + 1 < off.size(); ++k) chars.emplace_back(s.substr(off[k], off[k + 1] - off[k]));
      return chars;
    }
    default:
      return InvalidArgumentError(std::string("'") + v.TypeName() + "' object is not iterable");
  }
}

Interpreter::~Interpreter() {
  for (Value& ns : namespaces_) ns.MutableNamespace().items.clear();
}

void Interpreter::SweepNamespaces() {
  std::erase_if(namespaces_, [](const Value& ns) { return !ns.NamespaceShared(); });
  next_sweep_ = std::max<size_t>(64, 2 * namespaces_.size());
}

Status Interpreter::Charge(size_t n) {
  work_ += static_cast<int64_t>(n);
  if (work_ > limits_.max_work) {
    return ResourceExhaustedError("template render exceeded its work limit");
  }
  return Status();
}

Status Interpreter::CheckBuilt(const Value& v) {
  size_t n = v.is_string() ? v.AsString().size() : v.is_list() ? v.AsList().size() : 0;
  if (n > limits_.max_output_bytes) {
    return ResourceExhaustedError("template built a value over the output limit (" +
                                  std::to_string(limits_.max_output_bytes) + ")");
  }
  return Charge(n);
}

Status Interpreter::Emit(std::string_view s) {
  if (out_->size() + s.size() > limits_.max_output_bytes) {
    return ResourceExhaustedError("template output over the limit of " +
                                  std::to_string(limits_.max_output_bytes) + " bytes");
  }
  KVS_RETURN_IF_ERROR(Charge(s.size()));
  out_->append(s);
  return Status();
}

Status Interpreter::Render(const NodeList& nodes, const Dict& context) {
  auto globals = std::make_shared<Frame>();
  for (const auto& [k, v] : context.items) {
    if (k.is_string()) (*globals)[k.AsString()] = v;
  }
  frames_ = {globals};
  return Exec(nodes);
}

Value Interpreter::Lookup(const std::string& name) const {
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
    auto f = (*it)->find(name);
    if (f != (*it)->end()) return f->second;
  }
  return Builtin(name);
}

void Interpreter::Assign(const std::string& name, Value v) { (*frames_.back())[name] = std::move(v); }

Status Interpreter::Exec(const NodeList& nodes) {
  for (const auto& n : nodes) {
    KVS_RETURN_IF_ERROR(ExecNode(*n));
    if (flow_ != Flow::kNormal) break;
  }
  return Status();
}

Status Interpreter::ExecNode(const Node& n) {
  KVS_RETURN_IF_ERROR(Charge(1));
  switch (n.kind) {
    case NodeKind::kData:
      return Emit(n.text);
    case NodeKind::kOutput: {
      KVS_ASSIGN_OR_RETURN(Value v, Eval(*n.expr));
      return Emit(v.Str());
    }
    case NodeKind::kIf: {
      KVS_ASSIGN_OR_RETURN(Value c, Eval(*n.expr));
      return Exec(c.Truthy() ? n.body : n.else_body);
    }
    case NodeKind::kFor:
      return ExecFor(n);
    case NodeKind::kSet:
      return ExecSet(n);
    case NodeKind::kSetBlock: {
      std::string captured;
      std::string* saved = out_;
      out_ = &captured;
      Status s = Exec(n.body);
      out_ = saved;
      KVS_RETURN_IF_ERROR(s);
      Assign(n.targets[0], Value(std::move(captured)));
      return Status();
    }
    case NodeKind::kMacro:
      Assign(n.text, MakeMacro(n));
      return Status();
    case NodeKind::kBreak:
      flow_ = Flow::kBreak;
      return Status();
    case NodeKind::kContinue:
      flow_ = Flow::kContinue;
      return Status();
    case NodeKind::kGeneration:
      return Exec(n.body);
  }
  return Status();
}

Status Interpreter::ExecFor(const Node& n) {
  KVS_ASSIGN_OR_RETURN(Value seq, Eval(*n.expr));
  StatusOr<std::vector<Value>> items_or = Iterate(seq);
  if (!items_or.ok()) return LineError(n.line, items_or.status().message());
  std::vector<Value> items = std::move(items_or).value();
  auto unpack = [&](const Value& item, Frame* f) -> Status {
    if (n.targets.size() == 1) {
      (*f)[n.targets[0]] = item;
      return Status();
    }
    KVS_ASSIGN_OR_RETURN(std::vector<Value> parts, Iterate(item));
    if (parts.size() != n.targets.size()) {
      return LineError(n.line, "cannot unpack " + std::to_string(parts.size()) + " values into " +
                                   std::to_string(n.targets.size()) + " loop variables");
    }
    for (size_t k = 0; k < parts.size(); ++k) (*f)[n.targets[k]] = parts[k];
    return Status();
  };
  if (n.cond) {  // `for x in xs if cond`: filter first, loop.* counts what is left
    std::vector<Value> kept;
    for (const Value& item : items) {
      frames_.push_back(std::make_shared<Frame>());
      Status s = unpack(item, frames_.back().get());
      StatusOr<Value> c = s.ok() ? Eval(*n.cond) : StatusOr<Value>(s);
      frames_.pop_back();
      if (!c.ok()) return c.status();
      if (c->Truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  const int64_t len = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < len; ++i) {
    if (++loop_iterations_ > limits_.max_loop_iterations) {
      return ResourceExhaustedError("template loops exceeded " +
                                    std::to_string(limits_.max_loop_iterations) + " iterations");
    }
    auto frame = std::make_shared<Frame>();
    KVS_RETURN_IF_ERROR(unpack(items[i], frame.get()));
    // The keys are distinct: appended without Set's lookup, in one
    // allocation (a hostile loop runs a million iterations).
    Dict loop;
    loop.items.reserve(12);
    auto add = [&loop](const char* key, Value v) {
      loop.items.emplace_back(Value(key), std::move(v));
    };
    add("index", Value(i + 1));
    add("index0", Value(i));
    add("revindex", Value(len - i));
    add("revindex0", Value(len - i - 1));
    add("first", Value(i == 0));
    add("last", Value(i == len - 1));
    add("length", Value(len));
    add("depth", Value(int64_t{1}));
    add("depth0", Value(int64_t{0}));
    if (i > 0) add("previtem", items[i - 1]);
    if (i + 1 < len) add("nextitem", items[i + 1]);
    add("cycle", Value::MakeCallable(
                     [i](Interpreter&, CallArgs& a) -> StatusOr<Value> {
                       if (a.positional.empty()) {
                         return InvalidArgumentError("loop.cycle() needs at least one value");
                       }
                       return a.positional[i % a.positional.size()];
                     },
                     "cycle"));
    Value loop_ns = Value::MakeNamespace(std::move(loop));
    (*frame)["loop"] = loop_ns;
    frames_.push_back(std::move(frame));
    Status s = Exec(n.body);
    frames_.pop_back();
    // Kept by something the body built (a namespace's attribute, a list): it
    // may close a cycle, so the render's end empties it. Otherwise it goes
    // now; tracked every time, a loop of a million iterations held a million.
    if (loop_ns.NamespaceShared()) Track(loop_ns);
    KVS_RETURN_IF_ERROR(s);
    Flow f = flow_;
    flow_ = Flow::kNormal;
    if (f == Flow::kBreak) break;
  }
  if (len == 0) return Exec(n.else_body);
  return Status();
}

Status Interpreter::ExecSet(const Node& n) {
  KVS_ASSIGN_OR_RETURN(Value v, Eval(*n.expr));
  if (!n.attr.empty()) {
    Value ns = Lookup(n.targets[0]);
    if (ns.kind() != Kind::kNamespace) {
      return LineError(n.line, "can only set attributes of a namespace, '" + n.targets[0] +
                                   "' is " + ns.TypeName());
    }
    ns.MutableNamespace().Set(Value(n.attr), std::move(v));
    return Status();
  }
  if (n.targets.size() == 1) {
    Assign(n.targets[0], std::move(v));
    return Status();
  }
  StatusOr<std::vector<Value>> parts = Iterate(v);
  if (!parts.ok() || parts->size() != n.targets.size()) {
    return LineError(n.line, "cannot unpack the value into " + std::to_string(n.targets.size()) +
                                 " names");
  }
  for (size_t k = 0; k < n.targets.size(); ++k) Assign(n.targets[k], (*parts)[k]);
  return Status();
}

Value Interpreter::MakeMacro(const Node& n) {
  // The macro sees the render's globals at call time. It must not hold them
  // (it is stored in them: a shared_ptr cycle would leak every render).
  const Node* node = &n;
  return Value::MakeCallable(
      [node](Interpreter& in, CallArgs& args) -> StatusOr<Value> {
        if (args.positional.size() > node->targets.size()) {
          return LineError(node->line, "macro '" + node->text + "' takes " +
                                           std::to_string(node->targets.size()) + " arguments");
        }
        auto frame = std::make_shared<Frame>();
        for (size_t k = 0; k < node->targets.size(); ++k) {
          if (k < args.positional.size()) {
            (*frame)[node->targets[k]] = args.positional[k];
          }
        }
        for (auto& [key, v] : args.keywords) {
          bool known = false;
          for (const auto& t : node->targets) known |= t == key;
          if (!known) {
            return LineError(node->line, "macro '" + node->text + "' has no parameter '" + key + "'");
          }
          (*frame)[key] = v;
        }
        if (++in.call_depth_ > in.limits_.max_call_depth) {
          --in.call_depth_;
          return ResourceExhaustedError("macro calls nested deeper than " +
                                        std::to_string(in.limits_.max_call_depth));
        }
        std::shared_ptr<Frame> globals = in.frames_.front();
        std::vector<std::shared_ptr<Frame>> saved = std::move(in.frames_);
        in.frames_ = {globals, frame};
        Status s;
        for (size_t k = 0; k < node->targets.size() && s.ok(); ++k) {
          if (frame->count(node->targets[k]) == 0 && node->defaults[k]) {
            StatusOr<Value> d = in.Eval(*node->defaults[k]);
            if (d.ok()) (*frame)[node->targets[k]] = *d; else s = d.status();
          }
        }
        std::string captured;
        std::string* saved_out = in.out_;
        in.out_ = &captured;
        if (s.ok()) s = in.Exec(node->body);
        in.out_ = saved_out;
        in.frames_ = std::move(saved);
        in.flow_ = Flow::kNormal;
        --in.call_depth_;
        KVS_RETURN_IF_ERROR(s);
        return Value(std::move(captured));
      },
      n.text);
}

StatusOr<CallArgs> Interpreter::EvalArgs(const Expr& e, size_t first) {
  CallArgs a;
  for (size_t k = first; k < e.args.size(); ++k) {
    KVS_ASSIGN_OR_RETURN(Value v, Eval(*e.args[k]));
    a.positional.push_back(std::move(v));
  }
  for (const auto& [key, x] : e.kwargs) {
    KVS_ASSIGN_OR_RETURN(Value v, Eval(*x));
    a.keywords.emplace_back(key, std::move(v));
  }
  return a;
}

StatusOr<Value> Interpreter::Call(const Value& fn, CallArgs& args, int line) {
  if (fn.kind() != Kind::kCallable) {
    return LineError(line, std::string("'") + fn.TypeName() + "' object is not callable");
  }
  KVS_ASSIGN_OR_RETURN(Value r, fn.AsCallable()(*this, args));
  KVS_RETURN_IF_ERROR(CheckBuilt(r));
  return r;
}

StatusOr<Value> Interpreter::Eval(const Expr& e) {
  KVS_RETURN_IF_ERROR(Charge(1));
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.value;
    case ExprKind::kName:
      return Lookup(e.name);
    case ExprKind::kGetAttr: {
      KVS_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
      return GetAttr(obj, e.name, e.line);
    }
    case ExprKind::kGetItem: {
      KVS_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
      KVS_ASSIGN_OR_RETURN(Value key, Eval(*e.args[1]));
      return GetItem(obj, key, e.line);
    }
    case ExprKind::kSlice:
      return EvalSlice(e);
    case ExprKind::kCall: {
      KVS_ASSIGN_OR_RETURN(Value fn, Eval(*e.args[0]));
      KVS_ASSIGN_OR_RETURN(CallArgs a, EvalArgs(e, 1));
      return Call(fn, a, e.line);
    }
    case ExprKind::kFilter: {
      KVS_ASSIGN_OR_RETURN(Value in, Eval(*e.args[0]));
      KVS_ASSIGN_OR_RETURN(CallArgs a, EvalArgs(e, 1));
      KVS_ASSIGN_OR_RETURN(Value r, ApplyFilter(e.name, in, a, e.line));
      KVS_RETURN_IF_ERROR(CheckBuilt(r));
      return r;
    }
    case ExprKind::kTest: {
      KVS_ASSIGN_OR_RETURN(Value in, Eval(*e.args[0]));
      KVS_ASSIGN_OR_RETURN(CallArgs a, EvalArgs(e, 1));
      KVS_ASSIGN_OR_RETURN(bool r, ApplyTest(e.name, in, a, e.line));
      return Value(r != e.negated);
    }
    case ExprKind::kUnary: {
      KVS_ASSIGN_OR_RETURN(Value x, Eval(*e.args[0]));
      if (e.name == "not") return Value(!x.Truthy());
      if (!x.is_number()) {
        return LineError(e.line, std::string("bad operand type for unary ") + e.name + ": '" +
                                     x.TypeName() + "'");
      }
      if (e.name == "+") return x.kind() == Kind::kBool ? Value(x.AsInt()) : x;
      if (x.kind() == Kind::kFloat) return Value(-x.AsFloat());
      return Value(-x.AsInt());
    }
    case ExprKind::kBinary: {
      KVS_ASSIGN_OR_RETURN(Value r, EvalBinary(e));
      KVS_RETURN_IF_ERROR(CheckBuilt(r));
      return r;
    }
    case ExprKind::kCond: {
      KVS_ASSIGN_OR_RETURN(Value c, Eval(*e.args[0]));
      if (c.Truthy()) return Eval(*e.args[1]);
      if (e.args[2]) return Eval(*e.args[2]);
      return Value();
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      for (const auto& x : e.args) {
        KVS_ASSIGN_OR_RETURN(Value v, Eval(*x));
        items.push_back(std::move(v));
      }
      if (e.kind == ExprKind::kTuple) return Value::MakeTuple(std::move(items));
      return Value::MakeList(std::move(items));
    }
    case ExprKind::kDict: {
      Dict d;
      for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
        KVS_ASSIGN_OR_RETURN(Value key, Eval(*e.args[k]));
        KVS_ASSIGN_OR_RETURN(Value v, Eval(*e.args[k + 1]));
        if (key.kind() == Kind::kList || key.kind() == Kind::kDict || key.is_undefined()) {
          return LineError(e.line, std::string("unhashable dict key of type '") + key.TypeName() + "'");
        }
        d.Set(std::move(key), std::move(v));
      }
      return Value::MakeDict(std::move(d));
    }
  }
  return Value();
}

}  // namespace kvs::jinja
