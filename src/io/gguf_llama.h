// Reading a model's vocabulary out of GGUF metadata (tokenizer.ggml.* keys,
// as llama.cpp writes them).
#pragma once

#include "base/status.h"
#include "io/gguf_reader.h"
#include "tokenizer/vocab.h"

namespace kvs {

// From tokenizer.ggml.* and tokenizer.chat_template. Missing scores and
// types default to 0 and kNormal; missing ids to llama's 1/2/0.
StatusOr<Vocab> VocabFromGguf(const GgufFile& file);

}  // namespace kvs
