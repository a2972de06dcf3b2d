// libFuzzer target: what clients send to the grammar compilers. The first
// byte picks the input kind (GBNF, JSON schema, regex); the rest is the text.
// Every input is compiled or refused with an error, never a crash, a hang or
// unbounded memory; a compiled grammar then drives a matcher over the text's
// own bytes and a small trie mask (the engine's per-step work).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "grammar/gbnf.h"
#include "grammar/grammar_matcher.h"
#include "grammar/json_schema.h"
#include "grammar/regex.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  kvs::StatusOr<std::string> gbnf = std::string(text);
  switch (data[0] % 3) {
    case 1: gbnf = kvs::JsonSchemaToGbnf(text); break;
    case 2: gbnf = kvs::RegexToGbnf(text); break;
    default: break;
  }
  if (!gbnf.ok()) {
    KVS_CHECK(!gbnf.status().message().empty());
    return 0;
  }
  auto grammar = kvs::ParseGbnf(*gbnf);
  if (!grammar.ok()) {
    // Our own converters must produce grammars that compile.
    KVS_CHECK(data[0] % 3 == 0) << grammar.status().ToString() << "\n" << *gbnf;
    return 0;
  }
  kvs::GrammarMatcher m(&*grammar);
  static const std::vector<std::string> kVocab = {"{", "}", "\"", "a", "ab", "0", "1.5", " ", "\n", ",", ":",
                                                  "true", "\xC3\xA9", "\xE6\x97", "\xA5", "[", "]", "\\"};
  static const kvs::TokenTrie trie(static_cast<int>(kVocab.size()),
                                   [](int id) { return std::string_view(kVocab[id]); });
  std::vector<uint64_t> bits(1);
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    m.FillMask(trie, bits);
    if (!m.Accept(text.substr(i, 1))) break;
  }
  return 0;
}
