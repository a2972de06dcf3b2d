// kvserve make-model: writes a GGUF Llama model with random weights at a
// real model's shapes, for benchmarks (kvserve bench, llama.cpp) where only
// the sizes matter. Weights are N(0, 0.02)-like so activations stay finite;
// norms are 1. Tensors are generated and encoded a row at a time and
// streamed to disk, so memory stays small whatever the model size.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "io/gguf_writer.h"
#include "io/llama2c_reader.h"
#include "model/model_converter.h"
#include "tensor/quant.h"
#include "tools/commands.h"

namespace kvs::tools {
namespace {

struct Shape {
  const char* name;
  ModelConfig hp;
};

ModelConfig MakeHParams(const char* name, int vocab, int dim, int hidden, int layers, int heads,
                         int kv_heads, int ctx, float rope_base) {
  ModelConfig hp;
  hp.name = name;
  hp.n_vocab = vocab;
  hp.dim = dim;
  hp.hidden_dim = hidden;
  hp.n_layers = layers;
  hp.n_heads = heads;
  hp.n_kv_heads = kv_heads;
  hp.head_dim = dim / heads;
  hp.context_length = ctx;
  hp.norm_eps = 1e-5f;
  hp.rope_freq_base = rope_base;
  return hp;
}

std::vector<Shape> Shapes() {
  return {
      {"tinyllama", MakeHParams("TinyLlama-1.1B shape (random)", 32000, 2048, 5632, 22, 32, 4, 2048, 10000.0f)},
      {"llama3.2-1b", MakeHParams("Llama-3.2-1B shape (random)", 128256, 2048, 8192, 16, 32, 8, 131072, 500000.0f)},
      {"llama3-8b", MakeHParams("Llama-3-8B shape (random)", 128256, 4096, 14336, 32, 32, 8, 8192, 500000.0f)},
  };
}

// splitmix64: fast, seedable, good enough for random weights.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Approximately N(0, sd): the sum of four 16-bit uniforms (Irwin-Hall),
  // one 64-bit draw per value.
  float Normal(float sd) {
    const uint64_t r = Next();
    const float sum = static_cast<float>((r & 0xffff) + ((r >> 16) & 0xffff) +
                                         ((r >> 32) & 0xffff) + (r >> 48));
    // Mean 2 * 65535, variance 4 * 65536^2 / 12.
    return (sum - 131070.0f) * (sd * 1.7320508f / 65536.0f);
  }
};

struct TensorPlan {
  std::string name;
  DType type;
  int64_t cols, rows;  // rows == 1 and norm: a vector of ones
  bool norm;
};

struct Options {
  std::string shape = "tinyllama";
  std::string type = "Q8_0";
  std::string vocab_path;
  std::string out;
  uint64_t seed = 1;
  int layers = 0;  // 0: the shape's own
};

int MakeModel(const Options& opt) {
  const std::vector<Shape> shapes = Shapes();
  const Shape* shape = nullptr;
  for (const Shape& s : shapes) {
    if (opt.shape == s.name) shape = &s;
  }
  if (shape == nullptr) {
    std::fprintf(stderr, "kvserve make-model: unknown shape '%s' (tinyllama, llama3.2-1b, llama3-8b)\n",
                 opt.shape.c_str());
    return 2;
  }
  const std::optional<DType> type = DTypeFromName(opt.type);
  if (!type) {
    std::fprintf(stderr, "kvserve make-model: unknown type '%s'\n", opt.type.c_str());
    return 2;
  }
  ModelConfig hp = shape->hp;
  if (opt.layers > 0) hp.n_layers = opt.layers;
  auto vocab_or = ReadLlama2cTokenizer(opt.vocab_path);
  if (!vocab_or.ok()) {
    std::fprintf(stderr, "kvserve make-model: %s\n", vocab_or.status().ToString().c_str());
    return 1;
  }
  Vocab vocab = std::move(vocab_or).value();
  // A vocabulary smaller than the shape's (Llama 2's 32000 for Llama 3's
  // 128256) is padded with unused pieces, so that the embedding and output
  // matrices keep the real model's size; the text tokenizes as Llama 2's.
  const int n_file_vocab = static_cast<int>(vocab.pieces.size());
  if (n_file_vocab > hp.n_vocab) {
    std::fprintf(stderr, "kvserve make-model: vocabulary has %d pieces, shape wants %d\n",
                 n_file_vocab, hp.n_vocab);
    return 1;
  }
  for (int i = n_file_vocab; i < hp.n_vocab; ++i) {
    vocab.pieces.push_back("<unused_" + std::to_string(i) + ">");
    vocab.scores.push_back(0.0f);
    vocab.types.push_back(TokenType::kUnused);
  }
  vocab.scores.resize(hp.n_vocab, 0.0f);
  vocab.types.resize(hp.n_vocab, TokenType::kNormal);

  GgufWriter w;
  SetModelMetadata(hp, *type, &w);
  SetVocabMetadata(vocab, &w);
  const int64_t dim = hp.dim, kv_dim = hp.kv_dim();
  std::vector<TensorPlan> plan;
  plan.push_back({"token_embd.weight", *type, dim, hp.n_vocab, false});
  for (int l = 0; l < hp.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    plan.push_back({p + "attn_norm.weight", DType::kF32, dim, 1, true});
    plan.push_back({p + "attn_q.weight", *type, dim, dim, false});
    plan.push_back({p + "attn_k.weight", *type, dim, kv_dim, false});
    plan.push_back({p + "attn_v.weight", *type, dim, kv_dim, false});
    plan.push_back({p + "attn_output.weight", *type, dim, dim, false});
    plan.push_back({p + "ffn_norm.weight", DType::kF32, dim, 1, true});
    plan.push_back({p + "ffn_gate.weight", *type, dim, hp.hidden_dim, false});
    plan.push_back({p + "ffn_up.weight", *type, dim, hp.hidden_dim, false});
    plan.push_back({p + "ffn_down.weight", *type, hp.hidden_dim, dim, false});
  }
  plan.push_back({"output_norm.weight", DType::kF32, dim, 1, true});
  plan.push_back({"output.weight", *type, dim, hp.n_vocab, false});
  uint64_t total_bytes = 0;
  for (const TensorPlan& t : plan) {
    const std::vector<int64_t> dims =
        t.norm ? std::vector<int64_t>{t.cols} : std::vector<int64_t>{t.cols, t.rows};
    Status s = w.AddTensor(t.name, t.type, dims);
    if (!s.ok()) {
      std::fprintf(stderr, "kvserve make-model: %s\n", s.ToString().c_str());
      return 1;
    }
    total_bytes += static_cast<uint64_t>(t.rows * RowBytes(t.type, t.cols));
  }

  std::vector<float> row;
  std::vector<uint8_t> encoded;
  auto fill = [&](size_t i, TensorSink& sink) -> Status {
    const TensorPlan& t = plan[i];
    Rng rng{opt.seed * 0x100000001b3ull + i};
    row.resize(t.cols);
    encoded.resize(RowBytes(t.type, t.cols));
    for (int64_t r = 0; r < t.rows; ++r) {
      for (int64_t j = 0; j < t.cols; ++j) row[j] = t.norm ? 1.0f : rng.Normal(0.02f);
      QuantizeRow(t.type, row.data(), encoded.data(), t.cols);
      KVS_RETURN_IF_ERROR(sink.Write(encoded.data(), encoded.size()));
    }
    return Status::Ok();
  };
  auto progress = [&](size_t done, size_t n, uint64_t bytes) {
    const int width = 40;
    const int filled = total_bytes ? static_cast<int>(width * bytes / total_bytes) : width;
    std::fprintf(stderr, "\r[%s%s] %3d%% %6.2f / %.2f GB  tensor %zu/%zu",
                 std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                 static_cast<int>(100.0 * bytes / std::max<uint64_t>(total_bytes, 1)), bytes / 1e9,
                 total_bytes / 1e9, done, n);
    if (done == n) std::fprintf(stderr, "\n");
  };
  Status s = w.WriteFile(opt.out, fill, progress);
  if (!s.ok()) {
    std::fprintf(stderr, "\nkvserve make-model: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s: %s, %s, %d layers, %.2f GB of tensors\n", opt.out.c_str(),
               hp.name.c_str(), std::string(DTypeName(*type)).c_str(), hp.n_layers,
               total_bytes / 1e9);
  return 0;
}

}  // namespace

int RunMakeModel(int argc, char** argv) {
  Options opt;
  CLI::App app{"Write a random-weight Llama GGUF at a real model's shapes", "kvserve make-model"};
  app.add_option("--shape", opt.shape, "tinyllama, llama3.2-1b or llama3-8b");
  app.add_option("--type", opt.type, "weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K");
  app.add_option("--vocab", opt.vocab_path, "llama2.c tokenizer.bin (e.g. models/tokenizer.bin)")
      ->required();
  app.add_option("-o,--output", opt.out, "output .gguf file")->required();
  app.add_option("--seed", opt.seed, "random seed");
  app.add_option("--layers", opt.layers, "override the number of layers (quick tests)")
      ->check(CLI::Range(0, 1000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return MakeModel(opt);
}

}  // namespace kvs::tools
