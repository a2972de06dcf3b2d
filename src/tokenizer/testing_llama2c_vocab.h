// Test-only: reads a llama2.c tokenizer.bin into a Vocab, so tokenizer tests
// do not depend on src/io (which owns the production reader). Format: int32
// max_token_length, then per token float32 score, int32 length, bytes.
// llama2.c files carry no types: id 0 is <unk>, 1 BOS, 2 EOS (run.c's
// convention); byte pieces are recognised by the Tokenizer itself.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace kvs::testing {

inline StatusOr<Vocab> ReadLlama2cVocabForTest(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFoundError("cannot open " + path);
  const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t pos = 4;  // skip max_token_length
  Vocab v;
  while (pos < data.size()) {
    if (pos + 8 > data.size()) return DataLossError(path + ": truncated token header");
    float score;
    int32_t len;
    std::memcpy(&score, data.data() + pos, 4);
    std::memcpy(&len, data.data() + pos + 4, 4);
    pos += 8;
    if (len < 0 || pos + len > data.size()) return DataLossError(path + ": bad token length");
    v.pieces.emplace_back(data, pos, len);
    v.scores.push_back(score);
    pos += len;
  }
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  return v;
}

}  // namespace kvs::testing
