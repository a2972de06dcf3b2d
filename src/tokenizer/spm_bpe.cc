// SentencePiece BPE with merge scores and byte fallback.
//
// run.c's encode() rescans every adjacent pair after each merge (O(n^2)).
// Here symbols form a doubly linked list over the input and candidate pairs
// sit in a max-heap keyed by (score, leftmost position); a popped pair whose
// symbols have changed since it was pushed is stale and skipped. The top
// valid pair is exactly the one run.c would pick (highest score, leftmost on
// ties), so the output is identical, in O(n log n).
#include "tokenizer/spm_bpe.h"

#include <algorithm>
#include <queue>

namespace kvs {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Length of the UTF-8 sequence starting at text[i], grouped as run.c does: a
// byte and the continuation bytes (10xxxxxx) after it, at most 4 in all.
// Invalid input still makes progress, byte by byte.
size_t CodepointLength(std::string_view text, size_t i) {
  size_t len = 1;
  while (i + len < text.size() && len < 4 &&
         (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80) {
    ++len;
  }
  return len;
}

struct Symbol {
  int prev;      // index of the previous live symbol, -1 at the start
  int next;      // index of the next live symbol, -1 at the end
  size_t start;  // byte span of the input it covers
  size_t len;    // 0 once merged into its left neighbour
  TokenId id;
  bool mergeable;  // false for byte-fallback tokens (run.c: "<0xHH>" never merges)
};

struct Pair {
  float score;
  int left;    // symbol index; the right one is symbols[left].next
  size_t len;  // combined byte length when pushed, to detect staleness
  TokenId merged;

  // Max-heap order: higher score first, then the leftmost pair.
  bool operator<(const Pair& o) const {
    if (score != o.score) return score < o.score;
    return left > o.left;
  }
};

}  // namespace

std::string NormaliseSpmSpaces(std::string_view piece) {
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

int ByteOfSpmPiece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  const int hi = HexDigit(piece[3]);
  const int lo = HexDigit(piece[4]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

SpmBpeEncoder::SpmBpeEncoder(const Vocab& vocab, const std::vector<TokenType>& types)
    : scores_(vocab.scores), add_space_prefix_(vocab.add_space_prefix) {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), vocab.unk_id);
  mergeable_.reserve(vocab.pieces.size());
  for (size_t i = 0; i < vocab.pieces.size(); ++i) {
    const TokenId id = static_cast<TokenId>(i);
    if (types[i] == TokenType::kByte) {
      const int byte = ByteOfSpmPiece(NormaliseSpmSpaces(vocab.pieces[i]));
      // First byte token wins: a later duplicate must not redirect fallback.
      if (byte >= 0 && byte_ids_[byte] == vocab.unk_id) byte_ids_[byte] = id;
    } else if (types[i] == TokenType::kNormal || types[i] == TokenType::kUserDefined) {
      mergeable_.emplace(NormaliseSpmSpaces(vocab.pieces[i]), id);
    }
  }
}

void SpmBpeEncoder::Encode(std::string_view text, bool after_special,
                           std::vector<TokenId>* out) const {
  if (text.empty()) return;
  if (!add_space_prefix_ || !after_special) {
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

void SpmBpeEncoder::EncodeBpe(std::string_view text, std::vector<TokenId>* out) const {
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = CodepointLength(text, i);
    auto it = mergeable_.find(text.substr(i, len));
    if (it != mergeable_.end()) {
      symbols.push_back({0, 0, i, len, it->second, true});
    } else {
      for (size_t b = 0; b < len; ++b) {
        symbols.push_back(
            {0, 0, i + b, 1, byte_ids_[static_cast<unsigned char>(text[i + b])], false});
      }
    }
    i += len;
  }
  const int n = static_cast<int>(symbols.size());
  for (int i = 0; i < n; ++i) {
    symbols[i].prev = i - 1;
    symbols[i].next = i + 1 < n ? i + 1 : -1;
  }

  std::vector<Pair> storage;
  storage.reserve(n);
  std::priority_queue<Pair> heap(std::less<Pair>(), std::move(storage));
  auto try_push = [&](int left) {
    if (left < 0) return;
    const int right = symbols[left].next;
    if (right < 0 || !symbols[left].mergeable || !symbols[right].mergeable) return;
    const size_t len = symbols[left].len + symbols[right].len;
    auto it = mergeable_.find(text.substr(symbols[left].start, len));
    if (it == mergeable_.end()) return;
    heap.push({scores_[it->second], left, len, it->second});
  };
  for (int i = 0; i + 1 < n; ++i) try_push(i);

  while (!heap.empty()) {
    const Pair p = heap.top();
    heap.pop();
    Symbol& left = symbols[p.left];
    if (left.len == 0 || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    if (left.len + right.len != p.len) continue;  // a side changed since the push
    left.len = p.len;
    left.id = p.merged;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = p.left;
    try_push(left.prev);
    try_push(p.left);
  }

  for (int i = n > 0 ? 0 : -1; i >= 0; i = symbols[i].next) {
    // id < 0: a byte with neither a <0xHH> piece nor an unk token to stand in.
    if (symbols[i].id >= 0) out->push_back(symbols[i].id);
  }
}

}  // namespace kvs
