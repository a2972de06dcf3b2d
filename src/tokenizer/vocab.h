// Vocab: the data a tokenizer is built from, whatever file it came from
// (a llama2.c tokenizer.bin or GGUF tokenizer.ggml.* metadata).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/ids.h"

namespace kvs {

// GGUF tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  std::vector<std::string> pieces;  // [n_vocab]; SentencePiece pieces use U+2581 for space
                                    // in GGUF, a plain space in llama2.c files; byte-level
                                    // BPE ("gpt2") pieces are in GPT-2's byte-to-unicode
                                    // alphabet (space is U+0120 'Ġ')
  std::vector<float> scores;        // [n_vocab] merge priority, higher merges first
  std::vector<TokenType> types;     // [n_vocab]
  TokenId bos_id = -1;
  TokenId eos_id = -1;
  TokenId unk_id = -1;
  TokenId eot_id = -1;  // end of turn (<|eot_id|>), -1 if the file names none
  TokenId eom_id = -1;  // end of message (<|eom_id|>)
  TokenId pad_id = -1;
  bool add_bos = true;           // prepend BOS when encoding a prompt
  bool add_eos = false;          // append EOS when encoding a prompt
  bool add_space_prefix = true;  // SentencePiece dummy prefix (see models/README.md)
  std::string model = "llama";   // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2"
  std::string pre;               // tokenizer.ggml.pre: the "gpt2" pre-tokenizer split
  std::vector<std::string> merges;  // "gpt2": "left right" pairs, rank = index (first merges
                                    // first); empty for SentencePiece
  std::string chat_template;     // tokenizer.chat_template, empty if none
  // From a Hugging Face tokenizer.json (io/hf_tokenizer.h), kept in GGUF
  // under tokenizer.kvserve.*; llama.cpp's own files have neither.
  std::string normalizer;        // "" or "NFC": applied to text between special tokens
  // Non-empty: exactly the tokens that end generation (generation_config.json's),
  // and no token's type is overridden by its text; empty: llama.cpp's rule
  // (eos/eot/eom and every token whose text is on its end-of-generation list,
  // which also become control tokens).
  std::vector<TokenId> eog_ids;
};

}  // namespace kvs
