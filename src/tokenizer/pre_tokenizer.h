// PreTokenizer: the regex split a byte-level BPE vocabulary runs before its
// merges ("pre-tokenization"), chosen by the GGUF key tokenizer.ggml.pre.
//
// Each named split is one or more regular expressions applied in turn, as
// llama.cpp's unicode_regex_split does: every expression cuts each piece
// left by the previous one into its matches and the text between them, and
// a match never looks past the piece it is in. The expressions are
// llama.cpp's (llama-vocab.cpp), written for PCRE2 with these choices:
//  - whitespace is Unicode White_Space (\p{White_Space}), llama.cpp's table,
//    not PCRE2's \s (which also takes U+180E);
//  - where llama.cpp uses a hand-written splitter (the gpt2, llama-bpe and
//    qwen2 expressions), text no alternative matches becomes one piece per
//    code point, as there.
// Known differences from llama.cpp, both about Unicode tables: PCRE2 10.42
// knows Unicode 14, llama.cpp's tables are Unicode 15, so a letter, digit
// or space first assigned in Unicode 15 splits differently (new symbols and
// emoji do not: unknown code points fall in the punctuation run here, and
// llama.cpp has them as symbols); and a code point unassigned in both is a
// piece of its own in llama.cpp but joins a punctuation run here (as in
// Hugging Face's tokenizers).
// Matching is on UTF-8 with PCRE2's JIT; invalid UTF-8 is matched, never
// rejected (PCRE2_MATCH_INVALID_UTF), so any bytes can be encoded.
//
// Immutable after Create; Split may be called from many threads at once
// (each call has its own match data).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kvs {

class PreTokenizer {
 public:
  // `name` is tokenizer.ggml.pre: "llama-bpe" (alias "llama3"), "qwen2",
  // "smollm", "default" or "gpt2" (alias "gpt-2"). Any other name is an
  // error that names it and lists these.
  static StatusOr<std::unique_ptr<PreTokenizer>> Create(std::string_view name);
  ~PreTokenizer();

  // A piece of the text: text.substr(start, size).
  struct Span {
    size_t start;
    size_t size;
  };
  // Replaces `spans` with the pieces of `text`, in order, covering it all.
  // `scratch` is reused between calls to avoid allocation.
  void Split(std::string_view text, std::vector<Span>* spans, std::vector<Span>* scratch) const;

  const std::string& name() const { return name_; }

 private:
  struct Regex;
  PreTokenizer() = default;

  std::string name_;
  std::vector<std::unique_ptr<Regex>> regexes_;  // applied in order
};

}  // namespace kvs
