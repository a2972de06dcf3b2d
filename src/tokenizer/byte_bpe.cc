#include "tokenizer/byte_bpe.h"

#include <algorithm>

#include "tokenizer/byte_unicode.h"

namespace kvs {

struct ByteBpeEncoder::Scratch {
  struct Symbol {
    int prev;  // index of the previous live symbol, -1 at the start
    int next;  // index of the next live symbol, -1 at the end
    TokenId id;
    bool live;
  };
  struct Pair {
    int32_t rank;
    int left, right;  // symbol indices when pushed
    TokenId left_id, right_id, merged;
  };
  std::vector<PreTokenizer::Span> spans, spans_scratch;
  std::string spelled;  // a word in the byte alphabet (ignore_merges lookup)
  std::vector<Symbol> symbols;
  std::vector<Pair> heap;
};

StatusOr<std::unique_ptr<ByteBpeEncoder>> ByteBpeEncoder::Create(const Vocab& vocab) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<PreTokenizer> pre, PreTokenizer::Create(vocab.pre));
  if (vocab.merges.empty()) {
    return InvalidArgumentError("tokenizer: a 'gpt2' vocabulary needs tokenizer.ggml.merges");
  }
  std::unique_ptr<ByteBpeEncoder> e(new ByteBpeEncoder());
  e->pre_ = std::move(pre);
  // llama.cpp: the Llama 3 pre-tokenizer sets ignore_merges (as Hugging
  // Face's tokenizer.json does for Llama 3).
  e->ignore_merges_ = vocab.pre == "llama-bpe" || vocab.pre == "llama3";
  e->ids_.reserve(vocab.pieces.size());
  for (size_t i = 0; i < vocab.pieces.size(); ++i) {
    e->ids_.emplace(vocab.pieces[i], static_cast<TokenId>(i));  // first id wins
  }
  std::string spelled;
  for (int b = 0; b < 256; ++b) {
    spelled.clear();
    const char c = static_cast<char>(b);
    AppendByteEncoded(std::string_view(&c, 1), &spelled);
    auto it = e->ids_.find(spelled);
    e->byte_ids_[b] = it == e->ids_.end() ? -1 : it->second;
  }
  e->merges_.reserve(vocab.merges.size());
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& m = vocab.merges[rank];
    // "left right"; the first character may itself be a space-like piece, so
    // search from 1 as llama.cpp does.
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) continue;
    const std::string_view left(m.data(), sp);
    const std::string_view right(m.data() + sp + 1, m.size() - sp - 1);
    auto l = e->ids_.find(left);
    auto r = e->ids_.find(right);
    if (l == e->ids_.end() || r == e->ids_.end()) continue;
    std::string joined;
    joined.reserve(left.size() + right.size());
    joined.append(left).append(right);
    auto j = e->ids_.find(joined);
    if (j == e->ids_.end()) continue;
    // The first listing of a pair ranks it.
    e->merges_.emplace(PairKey(l->second, r->second),
                       Merge{static_cast<int32_t>(rank), j->second});
  }
  return e;
}

void ByteBpeEncoder::Encode(std::string_view text, bool /*after_special*/,
                            std::vector<TokenId>* out) const {
  if (text.empty()) return;
  Scratch s;
  pre_->Split(text, &s.spans, &s.spans_scratch);
  for (const PreTokenizer::Span& span : s.spans) {
    EncodeWord(text.substr(span.start, span.size), &s, out);
  }
}

void ByteBpeEncoder::EncodeWord(std::string_view word, Scratch* s,
                                std::vector<TokenId>* out) const {
  if (ignore_merges_) {
    s->spelled.clear();
    AppendByteEncoded(word, &s->spelled);
    auto it = ids_.find(s->spelled);
    if (it != ids_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  auto& sym = s->symbols;
  sym.clear();
  const int n = static_cast<int>(word.size());
  for (int i = 0; i < n; ++i) {
    sym.push_back({i - 1, i + 1 < n ? i + 1 : -1, byte_ids_[static_cast<uint8_t>(word[i])], true});
  }
  // Min-heap on (rank, left): the earliest merge, leftmost on ties.
  auto later = [](const Scratch::Pair& a, const Scratch::Pair& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  };
  auto& heap = s->heap;
  heap.clear();
  auto try_push = [&](int left) {
    if (left < 0) return;
    const int right = sym[left].next;
    if (right < 0 || sym[left].id < 0 || sym[right].id < 0) return;
    auto it = merges_.find(PairKey(sym[left].id, sym[right].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, left, right, sym[left].id, sym[right].id, it->second.merged});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (int i = 0; i + 1 < n; ++i) try_push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Scratch::Pair p = heap.back();
    heap.pop_back();
    Scratch::Symbol& l = sym[p.left];
    Scratch::Symbol& r = sym[p.right];
    // Stale: a side has merged with something else since the push (a
    // symbol's id changes with every merge it takes part in).
    if (!l.live || !r.live || l.next != p.right || l.id != p.left_id || r.id != p.right_id) {
      continue;
    }
    l.id = p.merged;
    r.live = false;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = p.left;
    try_push(l.prev);
    try_push(p.left);
  }
  for (int i = n > 0 ? 0 : -1; i >= 0; i = sym[i].next) {
    // id < 0: a byte the vocabulary cannot spell; llama.cpp drops it too.
    if (sym[i].id >= 0) out->push_back(sym[i].id);
  }
}

}  // namespace kvs
