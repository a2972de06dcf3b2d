// TokenTrie: a vocabulary's token byte strings as a prefix tree, so that a
// grammar mask walks shared prefixes once (llama.cpp's grammar sampler
// checks each token separately; XGrammar and llguidance walk a trie).
//
// Built once per vocabulary; immutable afterwards and thread-safe to share.
// Tokens with empty bytes (control tokens) are left out: the caller decides
// about them (end-of-generation tokens are allowed when the grammar is
// complete).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace kvs {

class TokenTrie {
 public:
  struct Node {
    uint32_t first_child = 0;  // children are [first_child, first_child + n_children) of nodes()
    uint16_t n_children = 0;
    uint8_t byte = 0;          // the edge into this node
    uint32_t first_token = 0;  // tokens ending here: [first_token, first_token + n_tokens) of tokens()
    uint32_t n_tokens = 0;
  };

  // piece(id) is token id's bytes, for id in [0, n_vocab).
  TokenTrie(int n_vocab, const std::function<std::string_view(int)>& piece);

  int n_vocab() const { return n_vocab_; }
  const std::vector<Node>& nodes() const { return nodes_; }  // nodes()[0] is the root
  const std::vector<int32_t>& tokens() const { return tokens_; }
  size_t max_depth() const { return max_depth_; }

 private:
  int n_vocab_;
  std::vector<Node> nodes_;
  std::vector<int32_t> tokens_;
  size_t max_depth_ = 0;
};

}  // namespace kvs
