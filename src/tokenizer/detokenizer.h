// IncrementalDetokenizer: turns a stream of token ids into text that is
// always whole UTF-8, and holds back text that may be the start of a stop
// string. One per request; owned by the engine thread; not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kvs {

class IncrementalDetokenizer {
 public:
  // prev_token is the last prompt token (for the after-BOS space rule).
  IncrementalDetokenizer(const Tokenizer* tokenizer, TokenId prev_token,
                         std::vector<std::string> stop_strings);

  struct Result {
    std::string text;      // newly released text (may be empty)
    bool stopped = false;  // a stop string was completed; text ends before it
  };
  // Adds one generated token.
  Result Add(TokenId id);
  // At the end of generation: releases whatever was held back (incomplete
  // UTF-8 becomes U+FFFD; a partial stop-string prefix is released as text).
  std::string Flush();

 private:
  // (implementation)
};

}  // namespace kvs
