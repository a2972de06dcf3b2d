// ByteBpeEncoder: byte-level BPE (GPT-2 style, tokenizer.ggml.model "gpt2")
// as llama.cpp's llm_tokenizer_bpe runs it: the pre-tokenizer splits the
// text into words; each word's bytes start as one symbol each (spelled in
// the byte alphabet of byte_unicode.h); then adjacent pairs merge, the pair
// whose merge comes first in tokenizer.ggml.merges first (the leftmost one
// on ties), until no listed pair is left. With `ignore_merges` (Llama 3) a
// word that is itself a token is that token, merges or not.
//
// Merges are kept by token id: a merge whose halves or result is not a
// token can never fire in a real vocabulary and is dropped at creation.
//
// Immutable after Create; Encode is thread-safe. Encode allocates its
// scratch once per call, not per token.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/text_encoder.h"
#include "tokenizer/vocab.h"

namespace kvs {

class ByteBpeEncoder : public TextEncoder {
 public:
  // Errors: unknown vocab.pre (naming it), no merges.
  static StatusOr<std::unique_ptr<ByteBpeEncoder>> Create(const Vocab& vocab);

  void Encode(std::string_view text, bool after_special, std::vector<TokenId>* out) const override;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Merge {
    int32_t rank;
    TokenId merged;
  };
  static uint64_t PairKey(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  ByteBpeEncoder() = default;
  // Appends the tokens of one pre-tokenized word.
  struct Scratch;
  void EncodeWord(std::string_view word, Scratch* s, std::vector<TokenId>* out) const;

  std::unique_ptr<PreTokenizer> pre_;
  bool ignore_merges_ = false;
  std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> ids_;  // piece -> id
  std::unordered_map<uint64_t, Merge> merges_;  // PairKey(left, right) -> merge
  TokenId byte_ids_[256];                       // byte -> its one-symbol token, or -1
};

}  // namespace kvs
