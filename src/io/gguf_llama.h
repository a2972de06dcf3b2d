// Reading a Llama model's hyperparameters and vocabulary out of GGUF
// metadata (llama.* and tokenizer.ggml.* keys, as llama.cpp writes them).
#pragma once

#include "base/status.h"
#include "io/gguf_reader.h"
#include "io/llama_hparams.h"
#include "tokenizer/vocab.h"

namespace kvs {

// From general.architecture (must be "llama"), general.name and llama.*;
// n_vocab from token_embd.weight's dims, or the token list when absent.
StatusOr<LlamaHParams> LlamaHParamsFromGguf(const GgufFile& file);

// From tokenizer.ggml.* and tokenizer.chat_template. Missing scores and
// types default to 0 and kNormal; missing ids to llama's 1/2/0.
StatusOr<Vocab> VocabFromGguf(const GgufFile& file);

}  // namespace kvs
