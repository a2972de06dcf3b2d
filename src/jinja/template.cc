#include "jinja/template.h"

#include "jinja/lexer.h"
#include "jinja/parser.h"

namespace kvs::jinja {

StatusOr<std::unique_ptr<Template>> Template::Parse(std::string_view source) {
  KVS_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  KVS_ASSIGN_OR_RETURN(NodeList nodes, jinja::Parse(tokens));
  return std::unique_ptr<Template>(new Template(std::move(nodes)));
}

StatusOr<std::string> Template::Render(const Dict& context, const RenderLimits& limits) const {
  std::string out;
  Interpreter in(limits, &out);
  KVS_RETURN_IF_ERROR(in.Render(nodes_, context));
  return out;
}

}  // namespace kvs::jinja
