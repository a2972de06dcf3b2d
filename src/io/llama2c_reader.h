// Readers for llama2.c's formats: the float32 checkpoint (run.c's
// stories*.bin) and the tokenizer file (tokenizer.bin / tok512.bin).
//
// The checkpoint's tensors are exposed under GGUF/llama.cpp names with dims
// in GGUF ne order (dims[0] innermost), pointing into the mapping: no copy.
// The weights are used exactly as stored; llama.cpp's converter also copies
// them without permuting Q/K (model_file_test checks this bit for bit).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "io/mapped_file.h"
#include "io/tensor_info.h"
#include "tokenizer/vocab.h"

namespace kvs {

// The checkpoint's header, as stored (vocab_size made positive).
struct Llama2cHeader {
  int dim = 0;
  int hidden_dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int vocab_size = 0;
  int seq_len = 0;
};

struct Llama2cCheckpoint {
  Llama2cHeader header;
  bool shared_classifier = true;  // output.weight absent: tied to token_embd
  std::vector<TensorInfo> tensors;  // offset = byte offset in the file
};

// Parses a checkpoint mapped in `file` (which must outlive the result's
// data pointers). Fails on a bad header or a size that does not match it.
StatusOr<Llama2cCheckpoint> ReadLlama2cCheckpoint(const MappedFile& file);

// Reads a llama2.c tokenizer file: int32 max_token_length, then per token
// float32 score, int32 length, bytes, to the end of the file. Pieces are kept
// as stored (a plain space, not U+2581). Ids 0/1/2 are <unk>/BOS/EOS.
StatusOr<Vocab> ReadLlama2cTokenizer(const std::string& path);

}  // namespace kvs
