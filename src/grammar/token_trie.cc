#include "grammar/token_trie.h"

#include <algorithm>
#include <deque>
#include <map>
#include <string>

namespace kvs {

TokenTrie::TokenTrie(int n_vocab, const std::function<std::string_view(int)>& piece)
    : n_vocab_(n_vocab) {
  std::vector<std::string_view> bytes(static_cast<size_t>(n_vocab));
  std::vector<int32_t> order;
  for (int id = 0; id < n_vocab; ++id) {
    bytes[id] = piece(id);
    if (!bytes[id].empty()) order.push_back(id);
    max_depth_ = std::max(max_depth_, bytes[id].size());
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return bytes[a] < bytes[b]; });
  // Breadth first: a node's children are allocated together, contiguous.
  // tokens_ is `order` itself, so each node's subtree is one range of it.
  struct Pending {
    uint32_t node;
    size_t begin, end;  // range of `order` under this node
    size_t depth;
  };
  tokens_ = order;
  nodes_.push_back(Node{});
  std::deque<Pending> queue{{0, 0, order.size(), 0}};
  while (!queue.empty()) {
    const Pending p = queue.front();
    queue.pop_front();
    size_t i = p.begin;
    Node& n = nodes_[p.node];
    n.first_token = static_cast<uint32_t>(p.begin);
    n.subtree_end = static_cast<uint32_t>(p.end);
    while (i < p.end && bytes[order[i]].size() == p.depth) ++i;
    n.n_tokens = static_cast<uint32_t>(i - p.begin);
    n.first_child = static_cast<uint32_t>(nodes_.size());
    while (i < p.end) {
      const auto b = static_cast<uint8_t>(bytes[order[i]][p.depth]);
      size_t j = i;
      while (j < p.end && static_cast<uint8_t>(bytes[order[j]][p.depth]) == b) ++j;
      Node child;
      child.byte = b;
      queue.push_back({static_cast<uint32_t>(nodes_.size()), i, j, p.depth + 1});
      nodes_.push_back(child);
      ++nodes_[p.node].n_children;
      i = j;
    }
  }
  // The bytes below each node, children before parents (they come later
  // in breadth-first order), deduplicated.
  std::vector<ByteSet> below(nodes_.size(), ByteSet{});
  for (size_t k = nodes_.size(); k-- > 0;) {
    const Node& n = nodes_[k];
    for (uint32_t c = n.first_child; c < n.first_child + n.n_children; ++c) {
      const uint8_t b = nodes_[c].byte;
      below[k][b / 64] |= uint64_t{1} << (b % 64);
      for (int w = 0; w < 4; ++w) below[k][w] |= below[c][w];
    }
  }
  std::map<ByteSet, uint32_t> ids;
  for (size_t k = 0; k < nodes_.size(); ++k) {
    auto [it, added] = ids.emplace(below[k], static_cast<uint32_t>(byte_sets_.size()));
    if (added) byte_sets_.push_back(below[k]);
    nodes_[k].below_bytes = it->second;
  }
}

}  // namespace kvs
