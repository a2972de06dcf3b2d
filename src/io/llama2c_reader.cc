#include "io/llama2c_reader.h"

#include <cstring>
#include <limits>

namespace kvs {
namespace {

constexpr size_t kHeaderBytes = 7 * 4;
constexpr int32_t kMaxHParam = 1 << 24;  // far above any real model's dims

struct Section {
  const char* name;  // GGUF name; "%d" is replaced by the layer
  bool per_layer;
  int64_t rows, cols;  // per layer; cols is innermost
  bool is_vector;      // dims {cols} rather than {cols, rows}
};

bool IsByteToken(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return false;
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return hex(piece[3]) && hex(piece[4]);
}

}  // namespace

StatusOr<Llama2cCheckpoint> ReadLlama2cCheckpoint(const MappedFile& file) {
  const std::string where = "llama2.c checkpoint '" + file.path() + "'";
  if (file.size() < kHeaderBytes) {
    return DataLossError(where + ": " + std::to_string(file.size()) +
                         " bytes, shorter than the 28-byte header");
  }
  int32_t h[7];
  std::memcpy(h, file.data(), kHeaderBytes);
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size",
                          "seq_len"};
  for (int i = 0; i < 7; ++i) {
    const int64_t v = i == 5 ? std::abs(static_cast<int64_t>(h[i])) : h[i];
    if (v <= 0 || v > kMaxHParam) {
      return DataLossError(where + ": header field " + names[i] + " = " + std::to_string(h[i]) +
                           " is out of range (not a llama2.c checkpoint?)");
    }
  }
  Llama2cCheckpoint ckpt;
  Llama2cHeader& hp = ckpt.header;
  hp.dim = h[0];
  hp.hidden_dim = h[1];
  hp.n_layers = h[2];
  hp.n_heads = h[3];
  hp.n_kv_heads = h[4];
  hp.vocab_size = std::abs(h[5]);
  hp.seq_len = h[6];
  ckpt.shared_classifier = h[5] > 0;  // run.c: a negative vocab size means a separate wcls
  if (hp.dim % hp.n_heads != 0 || hp.n_heads % hp.n_kv_heads != 0) {
    return DataLossError(where + ": dim " + std::to_string(hp.dim) + ", n_heads " +
                         std::to_string(hp.n_heads) + ", n_kv_heads " +
                         std::to_string(hp.n_kv_heads) + " are inconsistent");
  }
  const int64_t head_dim = hp.dim / hp.n_heads;
  const int64_t kv_dim = head_dim * hp.n_kv_heads;
  const int64_t dim = hp.dim, hidden = hp.hidden_dim, vocab = hp.vocab_size;

  // llama2.c's order: all layers of one kind, then the next kind. Values are
  // bounded by kMaxHParam, so no product below overflows int64.
  const Section sections[] = {
      {"token_embd.weight", false, vocab, dim, false},
      {"blk.%d.attn_norm.weight", true, 1, dim, true},
      {"blk.%d.attn_q.weight", true, dim, dim, false},
      {"blk.%d.attn_k.weight", true, kv_dim, dim, false},
      {"blk.%d.attn_v.weight", true, kv_dim, dim, false},
      {"blk.%d.attn_output.weight", true, dim, dim, false},
      {"blk.%d.ffn_norm.weight", true, 1, dim, true},
      {"blk.%d.ffn_gate.weight", true, hidden, dim, false},  // w1
      {"blk.%d.ffn_down.weight", true, dim, hidden, false},  // w2
      {"blk.%d.ffn_up.weight", true, hidden, dim, false},    // w3
      {"output_norm.weight", false, 1, dim, true},
  };
  uint64_t pos = kHeaderBytes;
  const uint64_t size = file.size();
  auto add = [&](std::string name, int64_t rows, int64_t cols, bool is_vector) -> Status {
    TensorInfo t;
    t.name = std::move(name);
    t.type = DType::kF32;
    t.dims = is_vector ? std::vector<int64_t>{cols} : std::vector<int64_t>{cols, rows};
    t.n_bytes = static_cast<size_t>(rows * cols * 4);
    t.offset = pos;
    if (pos > size || t.n_bytes > size - pos) {
      return DataLossError(where + ": truncated: tensor " + t.name + " needs bytes [" +
                           std::to_string(pos) + ", " + std::to_string(pos + t.n_bytes) +
                           ") but the file has " + std::to_string(size));
    }
    t.data = file.data() + pos;
    pos += t.n_bytes;
    ckpt.tensors.push_back(std::move(t));
    return Status::Ok();
  };
  for (const Section& s : sections) {
    const int n = s.per_layer ? hp.n_layers : 1;
    for (int l = 0; l < n; ++l) {
      std::string name = s.name;
      if (s.per_layer) name.replace(name.find("%d"), 2, std::to_string(l));
      KVS_RETURN_IF_ERROR(add(std::move(name), s.rows, s.cols, s.is_vector));
    }
  }
  // RoPE tables of the original llama2.c export, unused: RoPE is computed.
  pos += static_cast<uint64_t>(hp.seq_len) * head_dim / 2 * 4 * 2;
  if (!ckpt.shared_classifier) KVS_RETURN_IF_ERROR(add("output.weight", vocab, dim, false));
  if (pos != size) {
    return DataLossError(where + ": the header implies " + std::to_string(pos) +
                         " bytes but the file has " + std::to_string(size));
  }
  return ckpt;
}

StatusOr<Vocab> ReadLlama2cTokenizer(const std::string& path) {
  KVS_ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  const std::string where = "llama2.c tokenizer '" + path + "'";
  const uint8_t* p = file->data();
  const size_t size = file->size();
  if (size < 4) return DataLossError(where + ": shorter than its 4-byte header");
  int32_t max_len;
  std::memcpy(&max_len, p, 4);
  if (max_len <= 0) return DataLossError(where + ": max_token_length " + std::to_string(max_len));
  Vocab vocab;
  size_t pos = 4;
  while (pos < size) {
    const size_t id = vocab.pieces.size();
    if (size - pos < 8) {
      return DataLossError(where + ": truncated at offset " + std::to_string(pos) +
                           " in the header of token " + std::to_string(id));
    }
    float score;
    int32_t len;
    std::memcpy(&score, p + pos, 4);
    std::memcpy(&len, p + pos + 4, 4);
    pos += 8;
    if (len < 0 || len > max_len || static_cast<size_t>(len) > size - pos) {
      return DataLossError(where + ": token " + std::to_string(id) + " at offset " +
                           std::to_string(pos - 4) + " has length " + std::to_string(len) +
                           " (max_token_length " + std::to_string(max_len) + ", " +
                           std::to_string(size - pos) + " bytes left)");
    }
    std::string piece(reinterpret_cast<const char*>(p + pos), static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
    TokenType type = TokenType::kNormal;
    if (id == 0) {
      type = TokenType::kUnknown;
    } else if (id == 1 || id == 2) {
      type = TokenType::kControl;
    } else if (IsByteToken(piece)) {
      type = TokenType::kByte;
    }
    vocab.pieces.push_back(std::move(piece));
    vocab.scores.push_back(score);
    vocab.types.push_back(type);
  }
  if (vocab.pieces.size() < 3) return DataLossError(where + ": fewer than 3 tokens");
  // The format stores no ids; these are the ones llama2.c's run.c assumes.
  vocab.unk_id = 0;
  vocab.bos_id = 1;
  vocab.eos_id = 2;
  vocab.model = "llama";
  return vocab;
}

}  // namespace kvs
