// TextEncoder: the model-specific half of encoding. The Tokenizer cuts the
// text at special tokens and adds BOS/EOS; a TextEncoder turns each run of
// plain text between them into tokens. Implementations: SpmBpeEncoder
// (SentencePiece BPE, tokenizer.ggml.model "llama") and ByteBpeEncoder
// (byte-level BPE, "gpt2").
//
// Implementations are immutable after creation and safe to call from many
// threads at once.
#pragma once

#include <string_view>
#include <vector>

#include "base/ids.h"

namespace kvs {

class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  // Appends the tokens of `text` (no special tokens in it) to `out`.
  // `after_special`: the run starts the text or follows a special token
  // (where SentencePiece adds its dummy-prefix space).
  virtual void Encode(std::string_view text, bool after_special,
                      std::vector<TokenId>* out) const = 0;
};

}  // namespace kvs
