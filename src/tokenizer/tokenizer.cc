// Tokenizer construction, decoding and the special-token split of
// EncodeWithSpecial. The BPE merge loop itself is in spm_bpe.cc.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <utility>

namespace kvs {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

std::string NormaliseSpaces(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  size_t i = 0;
  while (i < piece.size()) {
    if (piece.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
      out.push_back(' ');
      i += kSpaceMarker.size();
    } else {
      out.push_back(piece[i++]);
    }
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte a piece spelled "<0xHH>" stands for, or -1.
int ByteOfPiece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  const int hi = HexDigit(piece[3]);
  const int lo = HexDigit(piece[4]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Create(Vocab vocab) {
  const size_t n = vocab.pieces.size();
  if (n == 0) return InvalidArgumentError("tokenizer: empty vocabulary");
  if (vocab.model != "llama" && !vocab.model.empty()) {
    return UnimplementedError("tokenizer: model '" + vocab.model +
                              "' is not supported (only SentencePiece BPE, 'llama')");
  }
  if (vocab.scores.size() != n) {
    return InvalidArgumentError("tokenizer: " + std::to_string(vocab.scores.size()) +
                                " scores for " + std::to_string(n) + " pieces");
  }
  if (!vocab.types.empty() && vocab.types.size() != n) {
    return InvalidArgumentError("tokenizer: " + std::to_string(vocab.types.size()) +
                                " token types for " + std::to_string(n) + " pieces");
  }
  for (TokenId id : {vocab.bos_id, vocab.eos_id, vocab.unk_id}) {
    if (id < -1 || id >= static_cast<TokenId>(n)) {
      return InvalidArgumentError("tokenizer: special token id " + std::to_string(id) +
                                  " outside a vocabulary of " + std::to_string(n));
    }
  }

  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->types_ = vocab.types;
  if (t->types_.empty()) {
    t->types_.assign(n, TokenType::kNormal);
    if (vocab.unk_id >= 0) t->types_[vocab.unk_id] = TokenType::kUnknown;
  }
  for (TokenId id : {vocab.bos_id, vocab.eos_id}) {
    if (id >= 0) t->types_[id] = TokenType::kControl;
  }

  std::fill(std::begin(t->byte_ids_), std::end(t->byte_ids_), vocab.unk_id);
  t->text_.resize(n);
  t->mergeable_.reserve(n);
  t->all_pieces_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const TokenId id = static_cast<TokenId>(i);
    std::string norm = NormaliseSpaces(vocab.pieces[i]);
    const TokenType type = t->types_[i];
    const int byte = type == TokenType::kControl ? -1 : ByteOfPiece(norm);
    if (byte >= 0) {
      t->types_[i] = TokenType::kByte;
      // First byte token wins: a later duplicate must not redirect fallback.
      if (t->byte_ids_[byte] == vocab.unk_id) t->byte_ids_[byte] = id;
      t->text_[i] = std::string(1, static_cast<char>(byte));
    } else if (type != TokenType::kControl) {
      t->text_[i] = norm;
    }
    if (byte < 0 && (type == TokenType::kNormal || type == TokenType::kUserDefined)) {
      t->mergeable_.emplace(norm, id);
    }
    if (type == TokenType::kControl || type == TokenType::kUserDefined) {
      if (!norm.empty()) t->specials_.push_back(id);
    }
    t->all_pieces_.emplace(std::move(norm), id);
  }
  t->vocab_ = std::move(vocab);
  // Longest first, so that "<|im_start|>" wins over a shorter special that
  // happens to be its prefix.
  std::stable_sort(t->specials_.begin(), t->specials_.end(), [&](TokenId a, TokenId b) {
    return t->vocab_.pieces[a].size() > t->vocab_.pieces[b].size();
  });
  return t;
}

std::vector<TokenId> Tokenizer::Encode(std::string_view text, bool add_bos) const {
  std::vector<TokenId> out;
  out.reserve(text.size() + 2);
  if (add_bos && vocab_.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  EncodeRun(text, &out);
  return out;
}

void Tokenizer::EncodeRun(std::string_view text, std::vector<TokenId>* out) const {
  if (text.empty()) return;
  if (!vocab_.add_space_prefix) {
    EncodeBpe(text, out);
    return;
  }
  // The dummy prefix joins the BPE like any other space (run.c pushes the
  // " " token first and lets it merge), so prefixing the text is the same.
  std::string prefixed;
  prefixed.reserve(text.size() + 1);
  prefixed.push_back(' ');
  prefixed.append(text);
  EncodeBpe(prefixed, out);
}

std::vector<TokenId> Tokenizer::EncodeWithSpecial(std::string_view text, bool add_bos) const {
  std::vector<TokenId> out;
  out.reserve(text.size() + 2);
  if (add_bos && vocab_.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  size_t run_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    TokenId hit = -1;
    // Special pieces are few (tens to hundreds) and all start with a
    // punctuation byte in practice, so the first-byte test skips most work.
    for (TokenId id : specials_) {
      const std::string& p = vocab_.pieces[id];
      if (p[0] == text[i] && text.compare(i, p.size(), p) == 0) {
        hit = id;
        break;
      }
    }
    if (hit < 0) {
      ++i;
      continue;
    }
    EncodeRun(text.substr(run_start, i - run_start), &out);
    out.push_back(hit);
    i += vocab_.pieces[hit].size();
    run_start = i;
  }
  EncodeRun(text.substr(run_start), &out);
  return out;
}

std::string_view Tokenizer::Piece(TokenId prev, TokenId id) const {
  KVS_CHECK(id >= 0 && id < n_vocab()) << "token id " << id << " outside vocab";
  std::string_view s = text_[id];
  if (prev == vocab_.bos_id && prev >= 0 && !s.empty() && s[0] == ' ') s.remove_prefix(1);
  return s;
}

std::string Tokenizer::Decode(const std::vector<TokenId>& ids) const {
  std::string out;
  TokenId prev = -1;
  for (TokenId id : ids) {
    out.append(Piece(prev, id));
    prev = id;
  }
  return out;
}

int Tokenizer::n_vocab() const { return static_cast<int>(text_.size()); }
TokenId Tokenizer::bos_id() const { return vocab_.bos_id; }
TokenId Tokenizer::eos_id() const { return vocab_.eos_id; }
TokenId Tokenizer::unk_id() const { return vocab_.unk_id; }
const Vocab& Tokenizer::vocab() const { return vocab_; }

TokenId Tokenizer::FindPiece(std::string_view piece) const {
  auto it = all_pieces_.find(NormaliseSpaces(piece));
  return it == all_pieces_.end() ? -1 : it->second;
}

}  // namespace kvs
