#include "grammar/token_trie.h"

#include <algorithm>
#include <deque>
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
  struct Pending {
    uint32_t node;
    size_t begin, end;  // range of `order` under this node
    size_t depth;
  };
  nodes_.push_back(Node{});
  std::deque<Pending> queue{{0, 0, order.size(), 0}};
  tokens_.reserve(order.size());
  while (!queue.empty()) {
    const Pending p = queue.front();
    queue.pop_front();
    size_t i = p.begin;
    nodes_[p.node].first_token = static_cast<uint32_t>(tokens_.size());
    for (; i < p.end && bytes[order[i]].size() == p.depth; ++i) tokens_.push_back(order[i]);
    nodes_[p.node].n_tokens = static_cast<uint32_t>(tokens_.size()) - nodes_[p.node].first_token;
    nodes_[p.node].first_child = static_cast<uint32_t>(nodes_.size());
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
}

}  // namespace kvs
