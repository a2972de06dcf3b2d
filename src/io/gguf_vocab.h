// Reading a model's vocabulary out of GGUF metadata (tokenizer.ggml.* keys,
// as llama.cpp writes them).
#pragma once

#include "base/status.h"
#include "io/gguf_reader.h"
#include "tokenizer/vocab.h"

namespace kvs {

// From tokenizer.ggml.* (model, pre, tokens, scores, token_type, merges,
// bos/eos/unknown/eot/eom/padding ids, add_bos/add_eos/add_space_prefix) and
// tokenizer.chat_template. Missing scores and types default to 0 and
// kNormal; missing ids to llama's 1/2/0 for SentencePiece, none for "gpt2".
StatusOr<Vocab> VocabFromGguf(const GgufFile& file);

}  // namespace kvs
