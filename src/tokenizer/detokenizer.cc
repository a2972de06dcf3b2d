#include "tokenizer/detokenizer.h"

#include <algorithm>
#include <utility>

namespace kvs {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Expected length of the sequence led by `c`, 0 if `c` cannot lead one.
int SequenceLength(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

// Whether `c` may follow lead byte `lead` as its first continuation byte
// (rules out overlong forms, surrogates and code points past U+10FFFF).
bool ValidSecondByte(unsigned char lead, unsigned char c) {
  switch (lead) {
    case 0xE0:
      return c >= 0xA0 && c <= 0xBF;
    case 0xED:
      return c >= 0x80 && c <= 0x9F;
    case 0xF0:
      return c >= 0x90 && c <= 0xBF;
    case 0xF4:
      return c >= 0x80 && c <= 0x8F;
    default:
      return IsContinuation(c);
  }
}

}  // namespace

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer* tokenizer, TokenId prev_token,
                                               std::vector<std::string> stop_strings,
                                               bool include_stop)
    : tokenizer_(tokenizer), prev_token_(prev_token), include_stop_(include_stop) {
  KVS_CHECK(tokenizer_ != nullptr);
  for (std::string& s : stop_strings) {
    if (!s.empty()) stop_strings_.push_back(std::move(s));
  }
}

void IncrementalDetokenizer::DrainCompleteUtf8() {
  const std::string& b = pending_bytes_;
  size_t i = 0;
  while (i < b.size()) {
    const auto lead = static_cast<unsigned char>(b[i]);
    const int len = SequenceLength(lead);
    if (len == 0) {
      held_text_.append(kReplacement);
      ++i;
      continue;
    }
    int have = 1;
    bool invalid = false;
    while (have < len && i + have < b.size()) {
      const auto c = static_cast<unsigned char>(b[i + have]);
      if (!(have == 1 ? ValidSecondByte(lead, c) : IsContinuation(c))) {
        invalid = true;
        break;
      }
      ++have;
    }
    if (invalid) {
      // The lead and what followed it so far is one maximal bad sequence;
      // the offending byte starts over.
      held_text_.append(kReplacement);
      i += have;
      continue;
    }
    if (have < len) break;  // incomplete: wait for the next token
    held_text_.append(b, i, len);
    i += len;
  }
  pending_bytes_.erase(0, i);
}

IncrementalDetokenizer::Result IncrementalDetokenizer::Add(TokenId id) {
  Result result;
  if (stopped_) return result;
  pending_bytes_.append(tokenizer_->Piece(prev_token_, id));
  prev_token_ = id;
  DrainCompleteUtf8();

  // The earliest stop string; of those starting there, the longest.
  size_t stop_at = std::string::npos;
  size_t stop_len = 0;
  for (const std::string& s : stop_strings_) {
    const size_t at = held_text_.find(s);
    if (at < stop_at || (at == stop_at && at != std::string::npos && s.size() > stop_len)) {
      stop_at = at;
      stop_len = s.size();
    }
  }
  if (stop_at != std::string::npos) {
    result.text = held_text_.substr(0, stop_at + (include_stop_ ? stop_len : 0));
    result.stopped = true;
    stopped_ = true;
    held_text_.clear();
    pending_bytes_.clear();
    return result;
  }

  // Keep the longest suffix that could still grow into a stop string.
  size_t keep = 0;
  for (const std::string& s : stop_strings_) {
    const size_t max_len = std::min(held_text_.size(), s.size() - 1);
    for (size_t len = max_len; len > keep; --len) {
      if (held_text_.compare(held_text_.size() - len, len, s, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  result.text = held_text_.substr(0, held_text_.size() - keep);
  held_text_.erase(0, held_text_.size() - keep);
  return result;
}

std::string IncrementalDetokenizer::Flush() {
  if (stopped_) return "";
  std::string out = std::move(held_text_);
  if (!pending_bytes_.empty()) out.append(kReplacement);
  held_text_.clear();
  pending_bytes_.clear();
  return out;
}

}  // namespace kvs
