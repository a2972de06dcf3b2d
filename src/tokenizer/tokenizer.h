// Tokenizer: text <-> token ids for one vocabulary. Two kinds of model sit
// behind the TextEncoder seam (text_encoder.h): SentencePiece BPE with merge
// scores and byte fallback (tokenizer.ggml.model "llama", and llama2.c
// files; spm_bpe.h) and byte-level BPE ("gpt2": Llama 3, Qwen2/3, SmolLM;
// byte_bpe.h). This class owns what they share: cutting the text at
// special tokens first (as llama.cpp's tokenizer_st_partition), BOS/EOS,
// decoding, and which tokens end generation.
//
// Built from a Vocab (see vocab.h), whatever file that came from. Immutable
// after creation: safe to share between threads.
//
// SentencePiece: U+2581 (GGUF's space marker) and a plain space (llama2.c
// files) are the same thing: pieces are kept with plain spaces, so Piece()
// and Decode() give real text. A piece spelled exactly "<0xHH>" (and not a
// control token) is a byte token. The BOS and EOS ids are control tokens
// whatever `types` says (llama2.c files carry no types).
// Byte-level BPE: normal pieces decode through GPT-2's byte alphabet
// (byte_unicode.h); user-defined and control pieces are plain text.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/text_encoder.h"
#include "tokenizer/vocab.h"

namespace kvs {

// True for the texts llama.cpp treats as ending generation whatever a
// file's eos id says ("<|eot_id|>", "<|im_end|>", "</s>", ...).
bool IsEndOfGenerationText(std::string_view piece);

class Tokenizer {
 public:
  // Errors name what is unsupported: an unknown tokenizer.ggml.model or
  // tokenizer.ggml.pre, a "gpt2" vocabulary without merges, sizes that
  // disagree, special ids outside the vocabulary.
  static StatusOr<std::unique_ptr<Tokenizer>> Create(Vocab vocab);
  ~Tokenizer();

  // Encodes plain text: control tokens spelled in it stay text, while
  // user-defined tokens are still matched first (as llama.cpp and Hugging
  // Face do). With add_bos, the vocabulary's add_bos/add_eos flags add BOS
  // first and EOS last. SentencePiece adds the dummy-prefix space to a
  // non-empty text when the vocab asks (llama2.c: "Once upon a time" ->
  // 1 403 407 261 378).
  std::vector<TokenId> Encode(std::string_view text, bool add_bos) const;

  // Like Encode, but control tokens spelled in `text` (e.g. "<|im_start|>"
  // from a rendered chat template) become those tokens, as llama.cpp does
  // with parse_special. Longer special pieces are cut out first. Under
  // SentencePiece each plain-text run after the start or a special token
  // gets the dummy-prefix space.
  std::vector<TokenId> EncodeWithSpecial(std::string_view text, bool add_bos) const;

  // The bytes token `id` stands for, as streamed to a user: byte pieces give
  // their byte; control tokens give "" (llama.cpp's token_to_piece without
  // `special`). `prev` is the token before it: under SentencePiece a piece
  // right after BOS loses its leading space (run.c's convention).
  std::string_view Piece(TokenId prev, TokenId id) const;
  // Decodes a whole sequence (no leading-space rule applied to the first
  // token unless it follows BOS in `ids`). With render_special, control
  // tokens appear as their text (llama.cpp's detokenize with
  // unparse_special, Hugging Face's decode without skip_special_tokens).
  std::string Decode(const std::vector<TokenId>& ids, bool render_special = false) const;

  // Whether generating `id` ends a sequence: EOS, EOT, EOM, and any token
  // spelled as llama.cpp's end-of-generation tokens (<|eot_id|>,
  // <|eom_id|>, <|im_end|>, <|end_of_text|>, <|endoftext|>, <|end|>, </s>,
  // <end_of_turn>, ...; tokenizer.cc has the list). Those are control tokens
  // here whatever the file says, as in llama.cpp.
  bool IsEndOfGeneration(TokenId id) const;

  int n_vocab() const;
  TokenId bos_id() const;
  TokenId eos_id() const;
  TokenId unk_id() const;
  const Vocab& vocab() const;
  // Finds a token by its exact piece (e.g. "<|im_end|>"); -1 if none.
  // Under SentencePiece U+2581 and space match each other.
  TokenId FindPiece(std::string_view piece) const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PieceMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

  Tokenizer() = default;
  // Cuts `text` at special tokens (control and unknown ones only with
  // parse_special) and encodes the runs between them.
  std::vector<TokenId> EncodeImpl(std::string_view text, bool add_special,
                                  bool parse_special) const;

  Vocab vocab_;
  bool spm_ = true;                      // SentencePiece ("llama"), else byte-level BPE
  std::unique_ptr<TextEncoder> encoder_;
  std::vector<TokenType> types_;   // [n_vocab] types after inference (see above)
  std::vector<std::string> text_;  // [n_vocab] decoded bytes; "" for control tokens
  PieceMap all_pieces_;            // normalised piece -> id, every token (first id wins)
  std::vector<TokenId> specials_;  // control, user-defined, unknown ids, longest piece first
  std::vector<TokenId> eog_ids_;   // sorted, unique
};

}  // namespace kvs
