// The grammar mask's cost per decode step and the compile time per schema,
// on real vocabularies (32,000 Llama 2, 128,256 Llama 3, 151,936 Qwen2
// tokens): each schema's answer text is tokenized by the vocabulary and
// replayed token by token, timing FillMask before each token as the engine
// does. Prints the mean and worst step, and how many masks came from the
// cache; then the same for a second request with the same schema, which
// shares the grammar's cache as the engine's requests do. Compare with a
// decode step's time (BENCHMARKS.md).
//
// Usage: grammar_mask_bench [SHARED_DIR]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "grammar/gbnf.h"
#include "grammar/grammar_cache.h"
#include "grammar/grammar_matcher.h"
#include "grammar/json_schema.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab.h"
#include "io/llama2c_reader.h"
#include "tokenizer/tokenizer.h"

namespace kvs {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Case {
  const char* name;
  const char* schema;  // "" : json_object
  std::string answer;
};

std::vector<Case> Cases() {
  std::string story;
  for (int i = 0; i < 6; ++i) {
    story +=
        "Once upon a time, in a quiet village by the sea, a little girl named Lily found a shiny "
        "shell. ";
  }
  return {
      {"tool args", R"({"type": "object", "properties": {"location": {"type": "string"},
         "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["location"],
         "additionalProperties": false})",
       R"({"location": "San Francisco, CA", "unit": "celsius"})"},
      {"nested",
       R"({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}},
         "meta": {"type": "object", "properties": {"id": {"type": "integer"}, "ok": {"type": "boolean"}},
         "required": ["ok"], "additionalProperties": false}}, "required": ["meta"], "additionalProperties": false})",
       R"({"tags": ["alpha", "beta", "gamma"], "meta": {"id": 12345, "ok": true}})"},
      {"long string", R"({"type": "object", "properties": {"story": {"type": "string"}},
         "required": ["story"], "additionalProperties": false})",
       "{\"story\": \"" + story + "\"}"},
      {"json_object", "",
       R"({"name": "kvserve", "numbers": [1, 2.5, -3e2], "nested": {"ok": null}})"},
  };
}

int Run(const std::string& shared) {
  struct VocabFile {
    const char* name;
    std::string path;
  };
  const VocabFile files[] = {{"llama2 32k", shared + "/models/tokenizer.bin"},
                             {"llama3 128k", shared + "/models/vocab/ggml-vocab-llama-bpe.gguf"},
                             {"qwen2 152k", shared + "/models/vocab/ggml-vocab-qwen2.gguf"}};
  std::printf("%-12s %-12s %7s %9s %10s %10s %10s %9s %10s %10s\n", "vocab", "schema", "tokens",
              "compile", "mask mean", "mask max", "uncached", "cached", "2nd mean", "2nd max");
  for (const VocabFile& f : files) {
    StatusOr<Vocab> vocab = InvalidArgumentError("");
    if (f.path.ends_with(".bin")) {
      vocab = ReadLlama2cTokenizer(f.path);
    } else {
      auto gguf = GgufFile::Open(f.path);
      if (!gguf.ok()) {
        std::fprintf(stderr, "%s\n", gguf.status().ToString().c_str());
        return 1;
      }
      vocab = VocabFromGguf(**gguf);
    }
    if (!vocab.ok()) {
      std::fprintf(stderr, "%s: %s\n", f.path.c_str(), vocab.status().ToString().c_str());
      return 1;
    }
    auto tok = Tokenizer::Create(*std::move(vocab));
    if (!tok.ok()) return 1;
    const Tokenizer& t = **tok;
    const auto t0 = Clock::now();
    const TokenTrie trie(t.n_vocab(), [&](int id) { return t.Piece(-1, id); });
    std::printf("%-12s trie of %zu nodes built in %.1f ms\n", f.name, trie.nodes().size(),
                Ms(Clock::now() - t0));
    std::vector<uint64_t> bits((t.n_vocab() + 63) / 64);
    for (const Case& c : Cases()) {
      // Compile: schema -> GBNF -> grammar, best of 20.
      double compile_ms = 1e9;
      StatusOr<Grammar> grammar = InvalidArgumentError("");
      for (int i = 0; i < 20; ++i) {
        const auto c0 = Clock::now();
        const StatusOr<std::string> gbnf =
            *c.schema ? JsonSchemaToGbnf(c.schema) : JsonObjectGbnf();
        if (!gbnf.ok()) return 1;
        grammar = ParseGbnf(*gbnf);
        compile_ms = std::min(compile_ms, Ms(Clock::now() - c0));
      }
      if (!grammar.ok()) {
        std::fprintf(stderr, "%s\n", grammar.status().ToString().c_str());
        return 1;
      }
      const std::vector<TokenId> ids = t.Encode(c.answer, /*add_bos=*/false);
      // Two requests with this schema, one after the other, sharing the
      // grammar's cache as the engine's requests do: the second finds the
      // first one's masks and DFA.
      const auto cache = std::make_shared<GrammarCache>(&*grammar);
      for (int request = 0; request < 2; ++request) {
        GrammarMatcher m(cache);
        double total = 0, worst = 0, uncached = 0;
        for (TokenId id : ids) {
          const int64_t before = m.masks_cached();
          const auto m0 = Clock::now();
          m.FillMask(trie, bits);
          const double ms = Ms(Clock::now() - m0);
          total += ms;
          worst = std::max(worst, ms);
          if (m.masks_cached() == before) uncached += ms;
          if (!((bits[id / 64] >> (id % 64)) & 1) || !m.Accept(t.Piece(-1, id))) {
            std::fprintf(stderr, "%s/%s: token %d ('%s') refused\n", f.name, c.name, id,
                         std::string(t.Piece(-1, id)).c_str());
            return 1;
          }
        }
        if (!m.IsComplete()) {
          std::fprintf(stderr, "%s/%s: the answer does not complete the grammar\n", f.name, c.name);
          return 1;
        }
        if (request == 0) {
          std::printf("%-12s %-12s %7zu %7.2fms %8.3fms %8.2fms %8.2fms %4lld/%-4lld", f.name,
                      c.name, ids.size(), compile_ms, total / ids.size(), worst, uncached,
                      static_cast<long long>(m.masks_cached()),
                      static_cast<long long>(m.masks_computed()));
        } else {
          std::printf(" %8.3fms %8.3fms\n", total / ids.size(), worst);
        }
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace kvs

int main(int argc, char** argv) { return kvs::Run(argc > 1 ? argv[1] : KVS_SHARED_DIR); }
