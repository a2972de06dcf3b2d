// IncrementalDetokenizer: turns a stream of token ids into text that is
// always whole UTF-8, and holds back text that may be the start of a stop
// string. One per request; owned by the engine thread; not thread-safe.
// Borrows the tokenizer, which must outlive it.
//
// Invariants between calls: pending_bytes_ is at most one incomplete but so
// far valid UTF-8 sequence; held_text_ is whole UTF-8 and, when non-empty, a
// proper prefix of some stop string (it is the longest suffix of the text so
// far with that property). Released text + held_text_ + pending_bytes_ is
// everything decoded so far, with invalid bytes replaced by U+FFFD.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kvs {

class IncrementalDetokenizer {
 public:
  // prev_token is the last prompt token (for the after-BOS space rule).
  // include_stop: the text released at a stop ends with the stop string
  // (vLLM's include_stop_str_in_output) instead of just before it.
  IncrementalDetokenizer(const Tokenizer* tokenizer, TokenId prev_token,
                         std::vector<std::string> stop_strings, bool include_stop = false);

  struct Result {
    std::string text;      // newly released text (may be empty)
    bool stopped = false;  // a stop string was completed; text ends before it (or with it)
  };
  // Adds one generated token.
  Result Add(TokenId id);
  // At the end of generation: releases whatever was held back (incomplete
  // UTF-8 becomes U+FFFD; a partial stop-string prefix is released as text).
  std::string Flush();

 private:
  // Moves the complete UTF-8 prefix of pending_bytes_ to held_text_ (invalid
  // bytes become U+FFFD at once: they can never complete).
  void DrainCompleteUtf8();

  const Tokenizer* tokenizer_;
  TokenId prev_token_;
  std::vector<std::string> stop_strings_;  // non-empty ones only
  bool include_stop_;
  std::string pending_bytes_;
  std::string held_text_;
  bool stopped_ = false;  // a stop string completed: later tokens give nothing
};

}  // namespace kvs
