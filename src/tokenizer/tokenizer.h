// Tokenizer: SentencePiece-style BPE with merge scores and byte fallback, as
// llama2.c's run.c and llama.cpp's SPM tokenizer implement it.
//
// Built from a Vocab (see vocab.h), whatever file that came from. Immutable
// after creation: safe to share between threads.
//
// Normalisation: U+2581 (GGUF's space marker) and a plain space (llama2.c
// files) are the same thing here: pieces are stored with plain spaces, so
// Piece()/Decode() give real text and Encode() looks up raw text directly.
// A piece spelled exactly "<0xHH>" (and not a control token) is a byte token:
// it decodes to that byte and is the byte-fallback target for byte 0xHH.
// The BOS and EOS ids are control tokens whatever `types` says (llama2.c
// files carry no types); with empty `types` they are inferred that way.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // U+2581 and space match each other.
  TokenId FindPiece(std::string_view piece) const;

  // Like Encode, but exact occurrences of control and user-defined pieces in
  // `text` (e.g. "<|im_start|>" from a rendered chat template) become those
  // tokens, as llama.cpp does with parse_special. Each plain-text run after
  // the start or a special token gets the dummy-prefix space.
  std::vector<TokenId> EncodeWithSpecial(std::string_view text, bool add_bos) const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PieceMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

  Tokenizer() = default;
  // Appends the BPE tokens of `text` (no BOS, no prefix handling) to `out`.
  void EncodeBpe(std::string_view text, std::vector<TokenId>* out) const;
  // Encode of one plain-text run: optional dummy prefix, then BPE.
  void EncodeRun(std::string_view text, std::vector<TokenId>* out) const;

  Vocab vocab_;
  std::vector<TokenType> types_;   // [n_vocab] types after inference (see above)
  std::vector<std::string> text_;  // [n_vocab] decoded bytes; "" for control tokens
  PieceMap mergeable_;             // normalised piece -> id, normal/user-defined tokens
  PieceMap all_pieces_;            // normalised piece -> id, every token (first id wins)
  TokenId byte_ids_[256];          // byte -> its <0xHH> token, or unk (or -1)
  std::vector<TokenId> specials_;  // control + user-defined ids, longest piece first
};

}  // namespace kvs
