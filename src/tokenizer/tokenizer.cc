// Tokenizer construction, the special-token partition, decoding and the
// end-of-generation set. The merge loops are in spm_bpe.cc and byte_bpe.cc.
#include "tokenizer/tokenizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "tokenizer/byte_bpe.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/spm_bpe.h"

namespace kvs {
namespace {

// Texts of tokens that end generation whatever the file's eos id says:
// llama.cpp's list (llama-vocab.cpp), which also forces these tokens to be
// control tokens (so that, e.g., "</s>" in Qwen2's vocabulary is matched as
// a special token in text, as llama.cpp does).
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",  // DeepSeek's
    "[e~[",
};

// `s` in Unicode NFC (ICU: the normalization Hugging Face's "NFC"
// normalizer applies), or nullopt when it already is.
std::optional<std::string> ToNfc(std::string_view s) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  const icu::StringPiece piece(s.data(), static_cast<int32_t>(s.size()));
  if (U_FAILURE(err) || nfc->isNormalizedUTF8(piece, err) || U_FAILURE(err)) return std::nullopt;
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(s.size()));
  nfc->normalizeUTF8(0, piece, sink, nullptr, err);
  if (U_FAILURE(err)) return std::nullopt;
  return out;
}

}  // namespace

bool IsEndOfGenerationText(std::string_view piece) {
  for (std::string_view s : kEndOfGenerationTexts) {
    if (piece == s) return true;
  }
  return false;
}

Tokenizer::~Tokenizer() = default;

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Create(Vocab vocab) {
  const size_t n = vocab.pieces.size();
  if (n == 0) return InvalidArgumentError("tokenizer: empty vocabulary");
  const bool spm = vocab.model == "llama" || vocab.model.empty();
  if (!spm && vocab.model != "gpt2") {
    return UnimplementedError("tokenizer: tokenizer.ggml.model '" + vocab.model +
                              "' is not supported (supported: llama, gpt2)");
  }
  if (spm && vocab.scores.size() != n) {
    return InvalidArgumentError("tokenizer: " + std::to_string(vocab.scores.size()) +
                                " scores for " + std::to_string(n) + " pieces");
  }
  if (!vocab.types.empty() && vocab.types.size() != n) {
    return InvalidArgumentError("tokenizer: " + std::to_string(vocab.types.size()) +
                                " token types for " + std::to_string(n) + " pieces");
  }
  for (TokenId id : {vocab.bos_id, vocab.eos_id, vocab.unk_id, vocab.eot_id, vocab.eom_id,
                     vocab.pad_id}) {
    if (id < -1 || id >= static_cast<TokenId>(n)) {
      return InvalidArgumentError("tokenizer: special token id " + std::to_string(id) +
                                  " outside a vocabulary of " + std::to_string(n));
    }
  }

  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->spm_ = spm;
  t->types_ = vocab.types;
  if (t->types_.empty()) {
    t->types_.assign(n, TokenType::kNormal);
    if (vocab.unk_id >= 0) t->types_[vocab.unk_id] = TokenType::kUnknown;
  }
  for (TokenId id : {vocab.bos_id, vocab.eos_id}) {
    if (id >= 0) t->types_[id] = TokenType::kControl;
  }
  // A file that lists its end-of-generation tokens (a Hugging Face
  // folder's) keeps its own token types; else llama.cpp's text rule.
  for (size_t i = 0; i < n && vocab.eog_ids.empty(); ++i) {
    if (IsEndOfGenerationText(vocab.pieces[i])) {
      t->types_[i] = TokenType::kControl;
      t->eog_ids_.push_back(static_cast<TokenId>(i));
    }
  }

  t->text_.resize(n);
  t->all_pieces_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const TokenId id = static_cast<TokenId>(i);
    std::string norm = spm ? NormaliseSpmSpaces(vocab.pieces[i]) : vocab.pieces[i];
    const TokenType type = t->types_[i];
    if (spm) {
      const int byte = type == TokenType::kControl ? -1 : ByteOfSpmPiece(norm);
      if (byte >= 0) {
        t->types_[i] = TokenType::kByte;
        t->text_[i] = std::string(1, static_cast<char>(byte));
      } else if (type != TokenType::kControl) {
        t->text_[i] = norm;
      }
    } else if (type == TokenType::kUserDefined) {
      t->text_[i] = norm;  // stored as plain text, not in the byte alphabet
    } else if (type != TokenType::kControl) {
      t->text_[i] = ByteDecodePiece(norm);
    }
    if (type == TokenType::kControl || type == TokenType::kUserDefined ||
        type == TokenType::kUnknown) {
      if (!vocab.pieces[i].empty()) t->specials_.push_back(id);
    }
    t->all_pieces_.emplace(std::move(norm), id);
  }

  if (spm) {
    t->encoder_ = std::make_unique<SpmBpeEncoder>(vocab, t->types_);
  } else {
    KVS_ASSIGN_OR_RETURN(t->encoder_, ByteBpeEncoder::Create(vocab));
  }
  t->vocab_ = std::move(vocab);
  // Longest first, so that "<|im_start|>" wins over a shorter special that
  // happens to be inside it.
  std::stable_sort(t->specials_.begin(), t->specials_.end(), [&](TokenId a, TokenId b) {
    return t->vocab_.pieces[a].size() > t->vocab_.pieces[b].size();
  });

  t->eog_ids_.insert(t->eog_ids_.end(), t->vocab_.eog_ids.begin(), t->vocab_.eog_ids.end());
  for (TokenId id : {t->vocab_.eos_id, t->vocab_.eot_id, t->vocab_.eom_id}) {
    if (id >= 0) t->eog_ids_.push_back(id);
  }
  std::sort(t->eog_ids_.begin(), t->eog_ids_.end());
  t->eog_ids_.erase(std::unique(t->eog_ids_.begin(), t->eog_ids_.end()), t->eog_ids_.end());
  return t;
}

std::vector<TokenId> Tokenizer::Encode(std::string_view text, bool add_bos) const {
  return EncodeImpl(text, add_bos, /*parse_special=*/false);
}

std::vector<TokenId> Tokenizer::EncodeWithSpecial(std::string_view text, bool add_bos) const {
  return EncodeImpl(text, add_bos, /*parse_special=*/true);
}

std::vector<TokenId> Tokenizer::EncodeImpl(std::string_view text, bool add_special,
                                           bool parse_special) const {
  // A fragment of `text`: a special token (id >= 0) or plain text (id -1).
  struct Fragment {
    size_t start;
    size_t size;
    TokenId id;
  };
  std::vector<Fragment> frags = {{0, text.size(), -1}};
  std::vector<Fragment> next;
  // As llama.cpp: one special at a time, longest first, cut out of every
  // plain fragment left so far.
  for (TokenId id : specials_) {
    if (!parse_special && types_[id] != TokenType::kUserDefined) continue;
    const std::string& piece = vocab_.pieces[id];
    if (text.find(piece) == std::string_view::npos) continue;
    next.clear();
    for (const Fragment& f : frags) {
      if (f.id >= 0) {
        next.push_back(f);
        continue;
      }
      const size_t end = f.start + f.size;
      const std::string_view within = text.substr(0, end);
      size_t pos = f.start;
      for (size_t m; (m = within.find(piece, pos)) != std::string_view::npos;) {
        if (m > pos) next.push_back({pos, m - pos, -1});
        next.push_back({m, piece.size(), id});
        pos = m + piece.size();
      }
      if (pos < end) next.push_back({pos, end - pos, -1});
    }
    std::swap(frags, next);
  }

  std::vector<TokenId> out;
  out.reserve(text.size() / 2 + 4);
  if (add_special && vocab_.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  bool after_special = true;
  for (const Fragment& f : frags) {
    if (f.id >= 0) {
      out.push_back(f.id);
      after_special = true;
    } else {
      const std::string_view run = text.substr(f.start, f.size);
      const std::optional<std::string> nfc =
          vocab_.normalizer == "NFC" ? ToNfc(run) : std::nullopt;
      encoder_->Encode(nfc ? std::string_view(*nfc) : run, after_special, &out);
      after_special = false;
    }
  }
  if (add_special && vocab_.add_eos && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
  return out;
}

std::string_view Tokenizer::Piece(TokenId prev, TokenId id) const {
  KVS_CHECK(id >= 0 && id < n_vocab()) << "token id " << id << " outside vocab";
  std::string_view s = text_[id];
  if (spm_ && vocab_.add_space_prefix && prev == vocab_.bos_id && prev >= 0 && !s.empty() &&
      s[0] == ' ') {
    s.remove_prefix(1);
  }
  return s;
}

std::string Tokenizer::Decode(const std::vector<TokenId>& ids, bool render_special) const {
  std::string out;
  TokenId prev = -1;
  for (TokenId id : ids) {
    KVS_CHECK(id >= 0 && id < n_vocab()) << "token id " << id << " outside vocab";
    if (render_special && types_[id] == TokenType::kControl) {
      out.append(spm_ ? NormaliseSpmSpaces(vocab_.pieces[id]) : vocab_.pieces[id]);
    } else {
      out.append(Piece(prev, id));
    }
    prev = id;
  }
  return out;
}

bool Tokenizer::IsEndOfGeneration(TokenId id) const {
  return std::binary_search(eog_ids_.begin(), eog_ids_.end(), id);
}

int Tokenizer::n_vocab() const { return static_cast<int>(text_.size()); }
TokenId Tokenizer::bos_id() const { return vocab_.bos_id; }
TokenId Tokenizer::eos_id() const { return vocab_.eos_id; }
TokenId Tokenizer::unk_id() const { return vocab_.unk_id; }
const Vocab& Tokenizer::vocab() const { return vocab_; }

TokenId Tokenizer::FindPiece(std::string_view piece) const {
  auto it = spm_ ? all_pieces_.find(NormaliseSpmSpaces(piece)) : all_pieces_.find(piece);
  return it == all_pieces_.end() ? -1 : it->second;
}

}  // namespace kvs
