// Tokenizer: SentencePiece-style BPE with merge scores and byte fallback, as
// llama2.c's run.c and llama.cpp's SPM tokenizer implement it.
//
// Built from a Vocab (see vocab.h), whatever file that came from. Immutable
// after creation: safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace kvs {

class Tokenizer {
 public:
  static StatusOr<std::unique_ptr<Tokenizer>> Create(Vocab vocab);

  // Encodes text. With add_bos (and vocab.add_bos), BOS comes first; a
  // non-empty text gets the SentencePiece dummy-prefix space when the vocab
  // asks for it (llama2.c: "Once upon a time" -> 1 403 407 261 378).
  std::vector<TokenId> Encode(std::string_view text, bool add_bos) const;

  // The bytes token `id` stands for: byte pieces <0xHH> give that one byte;
  // control tokens give "". `prev` is the token before it: a piece right
  // after BOS loses its leading space (run.c's convention).
  std::string_view Piece(TokenId prev, TokenId id) const;
  // Decodes a whole sequence (no leading-space rule applied to the first
  // token unless it follows BOS in `ids`).
  std::string Decode(const std::vector<TokenId>& ids) const;

  int n_vocab() const;
  TokenId bos_id() const;
  TokenId eos_id() const;
  TokenId unk_id() const;
  const Vocab& vocab() const;
  // Finds a token by its exact piece (e.g. "<|im_end|>"); -1 if none.
  TokenId FindPiece(std::string_view piece) const;

 private:
  // (implementation)
};

}  // namespace kvs
