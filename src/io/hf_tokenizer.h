// A Hugging Face tokenizer (tokenizer.json, with tokenizer_config.json and
// generation_config.json) as GGUF tokenizer.* metadata: the keys llama.cpp's
// convert_hf_to_gguf.py writes, so that the vocabulary loads through the one
// GGUF path (io/gguf_vocab, tokenizer/) whatever file it came from.
//
// Read: a "BPE" model with byte-level pre-tokenization (Llama 3, Qwen2/3,
// SmolLM, GPT-2): tokens by id (padded with "[PAD<id>]" unused tokens up to
// the model's vocab_size), merges, added tokens as control (special, or
// looking like "<|...|>") or user-defined, the pre-tokenizer recognised from
// its Split regex or structure and written as tokenizer.ggml.pre, BOS/EOS
// and their add_* flags (tokenizer_config.json, else the post-processor's
// template), the pad token, and the chat template. Anything else (a
// SentencePiece-style Metaspace tokenizer, WordPiece, an unknown
// pre-tokenizer) is an error that names it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "io/gguf_writer.h"

namespace kvs {

// tokenizer_config.json's "chat_template": a string, or the "default"
// entry of a list of {name, template}; nullopt if neither.
std::optional<std::string> ChatTemplateFromConfig(const nlohmann::json& tokenizer_config);

// n_vocab: the model's vocabulary size (config.json's vocab_size), or 0 for
// the tokenizer's own (its largest id + 1). `tokenizer_config` and
// `generation_config` may be null. Returns the number of tokens written.
StatusOr<int> AddHfTokenizerMetadata(const nlohmann::json& tokenizer,
                              const nlohmann::json* tokenizer_config,
                              const nlohmann::json* generation_config, int n_vocab,
                              GgufWriter* w);

}  // namespace kvs
