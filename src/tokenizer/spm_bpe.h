// SpmBpeEncoder: SentencePiece-style BPE with merge scores and byte
// fallback, as llama2.c's run.c and llama.cpp's SPM tokenizer implement it.
// Pieces are normalised to plain spaces (U+2581 and ' ' are the same here);
// a piece "<0xHH>" that is not a control token is the byte-fallback target
// for byte 0xHH. Immutable after construction; thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/text_encoder.h"
#include "tokenizer/vocab.h"

namespace kvs {

// `piece` with every U+2581 replaced by a space.
std::string NormaliseSpmSpaces(std::string_view piece);
// The byte a piece spelled "<0xHH>" stands for, or -1.
int ByteOfSpmPiece(std::string_view piece);

class SpmBpeEncoder : public TextEncoder {
 public:
  // `types` are the vocabulary's types after the Tokenizer's inference
  // (byte pieces are kByte, BOS/EOS kControl); same size as vocab.pieces.
  SpmBpeEncoder(const Vocab& vocab, const std::vector<TokenType>& types);

  void Encode(std::string_view text, bool after_special, std::vector<TokenId>* out) const override;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Appends the BPE tokens of `text` (no prefix handling) to `out`.
  void EncodeBpe(std::string_view text, std::vector<TokenId>* out) const;

  std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> mergeable_;
  std::vector<float> scores_;  // [n_vocab]
  TokenId byte_ids_[256];      // byte -> its <0xHH> token, or unk (or -1)
  bool add_space_prefix_;
};

}  // namespace kvs
