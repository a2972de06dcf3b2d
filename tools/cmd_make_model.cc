// kvserve make-model: writes a GGUF model with random weights at a real
// model's shapes (tools/model_shapes.h), for benchmarks and for comparing
// with llama.cpp on the same file. Weights are N(0, 0.02)-like so
// activations stay finite; norms are 1 + N(0, 0.1)-like, so that a norm
// applied with the wrong weights shows. Tensors are generated and encoded a
// row at a time and streamed to disk, so memory stays small whatever the
// model size. The vocabulary comes from a llama2.c tokenizer file or a GGUF
// file, whose tokenizer.* metadata is copied as it is (llama.cpp then
// tokenizes the result exactly as the original).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <unistd.h>

#include "io/gguf_vocab.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/hf_folder.h"
#include "io/hf_tokenizer.h"
#include "io/llama2c_reader.h"
#include "io/mapped_file.h"
#include "model/model_converter.h"
#include "tensor/quant.h"
#include "tools/commands.h"
#include "tools/hf_export.h"
#include "tools/model_shapes.h"

namespace kvs::tools {
namespace {

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

struct Options {
  std::string shape = "tinyllama";
  std::string type = "Q8_0";
  bool pure = false;  // every matrix in --type's base type
  std::string vocab_path;
  std::string chat_template_path;  // "" : the vocabulary's own, if any
  std::string format = "gguf";     // or "hf": a Hugging Face folder
  std::string out;
  uint64_t seed = 1;
  int layers = 0;  // 0: the shape's own
};

struct TensorPlan {
  std::string name;
  DType type;
  int64_t cols, rows;  // rows == 1 for vectors
  enum Kind { kMatrix, kNorm, kBias, kFixed } kind;
  std::vector<float> values;  // kFixed: the vector's values
};

std::vector<TensorPlan> PlanTensors(const ModelShape& shape, const ModelConfig& c, const QuantMix& mix) {
  const int64_t dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), hidden = c.hidden_dim;
  const MixModelShape mix_shape = MixShapeOf(c, shape.tied_output);
  std::vector<TensorPlan> plan;
  auto matrix = [&](std::string name, int64_t cols, int64_t rows) {
    const DType type = mix.TensorType(mix_shape, name, 2, cols);
    plan.push_back({std::move(name), type, cols, rows, TensorPlan::kMatrix, {}});
  };
  auto vec = [&](std::string name, int64_t n, TensorPlan::Kind kind) {
    plan.push_back({std::move(name), DType::kF32, n, 1, kind, {}});
  };
  matrix("token_embd.weight", dim, c.n_vocab);
  if (shape.rope_scaling.factor > 0) {
    plan.push_back({"rope_freqs.weight", DType::kF32, c.head_dim / 2, 1, TensorPlan::kFixed,
                    LlamaRopeFreqs(shape.rope_scaling, c.head_dim, c.rope_freq_base)});
  }
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    vec(p + "attn_norm.weight", dim, TensorPlan::kNorm);
    matrix(p + "attn_q.weight", dim, q_dim);
    matrix(p + "attn_k.weight", dim, kv_dim);
    matrix(p + "attn_v.weight", dim, kv_dim);
    if (c.arch == "qwen2") {
      vec(p + "attn_q.bias", q_dim, TensorPlan::kBias);
      vec(p + "attn_k.bias", kv_dim, TensorPlan::kBias);
      vec(p + "attn_v.bias", kv_dim, TensorPlan::kBias);
    }
    if (c.arch == "qwen3") {
      vec(p + "attn_q_norm.weight", c.head_dim, TensorPlan::kNorm);
      vec(p + "attn_k_norm.weight", c.head_dim, TensorPlan::kNorm);
    }
    matrix(p + "attn_output.weight", q_dim, dim);
    vec(p + "ffn_norm.weight", dim, TensorPlan::kNorm);
    matrix(p + "ffn_gate.weight", dim, hidden);
    matrix(p + "ffn_up.weight", dim, hidden);
    matrix(p + "ffn_down.weight", hidden, dim);
  }
  vec("output_norm.weight", dim, TensorPlan::kNorm);
  if (!shape.tied_output) matrix("output.weight", dim, c.n_vocab);
  return plan;
}

// The vocabulary's metadata: a GGUF file's tokenizer.* keys copied as they
// are, or a llama2.c tokenizer padded to the shape's size with unused
// pieces (Llama 2's 32000 for Llama 3's 128256: the embedding and output
// matrices keep the real model's size; the text tokenizes as Llama 2's).
// Returns the vocabulary's size, or -1 after printing an error.
int AddVocab(const std::string& path, int shape_vocab, GgufWriter* w) {
  if (HfFolder::IsFolder(path)) {  // a Hugging Face tokenizer
    StatusOr<nlohmann::json> tokenizer = ReadJsonFile(path + "/tokenizer.json");
    StatusOr<nlohmann::json> config = ReadJsonFile(path + "/tokenizer_config.json");
    StatusOr<nlohmann::json> generation = ReadJsonFile(path + "/generation_config.json");
    StatusOr<int> n = tokenizer.ok() ? AddHfTokenizerMetadata(
                                           *tokenizer, config.ok() ? &*config : nullptr,
                                           generation.ok() ? &*generation : nullptr, shape_vocab, w)
                                     : StatusOr<int>(tokenizer.status());
    if (!n.ok()) {
      std::fprintf(stderr, "kvserve make-model: %s\n", n.status().ToString().c_str());
      return -1;
    }
    return *n;
  }
  auto mapping = MappedFile::Open(path);
  const bool is_gguf = mapping.ok() && (*mapping)->size() >= 4 &&
                       std::memcmp((*mapping)->data(), "GGUF", 4) == 0;
  if (is_gguf) {
    auto gguf = GgufFile::Open(path);
    if (!gguf.ok()) {
      std::fprintf(stderr, "kvserve make-model: %s\n", gguf.status().ToString().c_str());
      return -1;
    }
    auto vocab = VocabFromGguf(**gguf);  // checks that it is a usable vocabulary
    if (!vocab.ok()) {
      std::fprintf(stderr, "kvserve make-model: %s\n", vocab.status().ToString().c_str());
      return -1;
    }
    const int n = static_cast<int>(vocab->pieces.size());
    if (shape_vocab != 0 && n != shape_vocab) {
      std::fprintf(stderr, "kvserve make-model: %s has %d tokens, the shape wants %d\n",
                   path.c_str(), n, shape_vocab);
      return -1;
    }
    for (const auto& [key, value] : (*gguf)->metadata()) {
      if (key.rfind("tokenizer.", 0) == 0) w->SetValue(key, value);
    }
    return n;
  }
  auto vocab_or = ReadLlama2cTokenizer(path);
  if (!vocab_or.ok()) {
    std::fprintf(stderr, "kvserve make-model: %s\n", vocab_or.status().ToString().c_str());
    return -1;
  }
  Vocab vocab = std::move(vocab_or).value();
  const int n_file_vocab = static_cast<int>(vocab.pieces.size());
  const int n = shape_vocab != 0 ? shape_vocab : n_file_vocab;
  if (n_file_vocab > n) {
    std::fprintf(stderr, "kvserve make-model: vocabulary has %d pieces, shape wants %d\n",
                 n_file_vocab, n);
    return -1;
  }
  for (int i = n_file_vocab; i < n; ++i) {
    vocab.pieces.push_back("<unused_" + std::to_string(i) + ">");
    vocab.scores.push_back(0.0f);
    vocab.types.push_back(TokenType::kUnused);
  }
  vocab.scores.resize(n, 0.0f);
  vocab.types.resize(n, TokenType::kNormal);
  SetVocabMetadata(vocab, w);
  return n;
}

// A chat template from a file: a Hugging Face tokenizer_config.json (its
// "chat_template": a string, or a list of {name, template} of which
// "default" is taken) or the template's text itself.
StatusOr<std::string> ReadChatTemplate(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open the chat template");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const nlohmann::json config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return text;  // a template, not JSON
  if (auto t = ChatTemplateFromConfig(config)) return *t;
  return InvalidArgumentError(path + ": no \"chat_template\" string (or \"default\" entry) in it");
}

int MakeModel(const Options& opt) {
  const ModelShape* shape = FindModelShape(opt.shape);
  if (shape == nullptr) {
    std::fprintf(stderr, "kvserve make-model: unknown shape '%s' (%s)\n", opt.shape.c_str(),
                 ModelShapeNames().c_str());
    return 2;
  }
  std::optional<QuantMix> mix = QuantMix::FromName(opt.type);
  if (!mix) {
    std::fprintf(stderr, "kvserve make-model: unknown type '%s'\n", opt.type.c_str());
    return 2;
  }
  if (opt.pure) mix = mix->AsPure();
  const DType type = mix->base_type();
  ModelConfig hp = shape->config;
  if (opt.layers > 0) hp.n_layers = opt.layers;
  GgufWriter w;
  hp.n_vocab = AddVocab(opt.vocab_path, hp.n_vocab, &w);
  if (hp.n_vocab < 0) return 1;
  std::string chat_template;
  if (!opt.chat_template_path.empty()) {
    StatusOr<std::string> read = ReadChatTemplate(opt.chat_template_path);
    if (!read.ok()) {
      std::fprintf(stderr, "kvserve make-model: %s\n", read.status().ToString().c_str());
      return 1;
    }
    chat_template = *std::move(read);
    w.SetString("tokenizer.chat_template", chat_template);
  }
  const bool hf = opt.format == "hf";
  if (hf && (!HfFolder::IsFolder(opt.vocab_path) ||
             (type != DType::kF32 && type != DType::kF16 && type != DType::kBF16))) {
    std::fprintf(stderr,
                 "kvserve make-model: --format hf needs --vocab a Hugging Face tokenizer folder "
                 "(with tokenizer.json) and --type F32, F16 or BF16\n");
    return 2;
  }
  // A folder is written as GGUF first, then exported.
  const std::string gguf_path = hf ? opt.out + ".make-model.gguf" : opt.out;
  SetModelMetadata(hp, *mix, &w);
  const std::vector<TensorPlan> plan = PlanTensors(*shape, hp, *mix);
  uint64_t total_bytes = 0;
  for (const TensorPlan& t : plan) {
    const std::vector<int64_t> dims =
        t.rows == 1 && t.kind != TensorPlan::kMatrix ? std::vector<int64_t>{t.cols}
                                                     : std::vector<int64_t>{t.cols, t.rows};
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
      for (int64_t j = 0; j < t.cols; ++j) {
        switch (t.kind) {
          case TensorPlan::kMatrix: row[j] = rng.Normal(0.02f); break;
          case TensorPlan::kNorm: row[j] = 1.0f + rng.Normal(0.1f); break;
          case TensorPlan::kBias: row[j] = rng.Normal(0.1f); break;
          case TensorPlan::kFixed: row[j] = t.values[j]; break;
        }
      }
      QuantizeRow(t.type, row.data(), encoded.data(), t.cols);
      KVS_RETURN_IF_ERROR(sink.Write(encoded.data(), encoded.size()));
    }
    return Status::Ok();
  };
  // A live bar on a terminal only: in logs (tests, CI) it would be one line
  // per tensor.
  const bool live = isatty(STDERR_FILENO) != 0;
  auto progress = [&](size_t done, size_t n, uint64_t bytes) {
    if (!live) return;
    const int width = 40;
    const int filled = total_bytes ? static_cast<int>(width * bytes / total_bytes) : width;
    std::fprintf(stderr, "\r[%s%s] %3d%% %6.2f / %.2f GB  tensor %zu/%zu",
                 std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                 static_cast<int>(100.0 * bytes / std::max<uint64_t>(total_bytes, 1)), bytes / 1e9,
                 total_bytes / 1e9, done, n);
    if (done == n) std::fprintf(stderr, "\n");
  };
  Status s = w.WriteFile(gguf_path, fill, progress);
  if (s.ok() && hf) {
    StatusOr<std::unique_ptr<GgufFile>> gguf = GgufFile::Open(gguf_path);
    s = gguf.ok() ? ExportHfFolder(**gguf, *shape, hp, opt.vocab_path, chat_template, opt.out)
                  : gguf.status();
    std::remove(gguf_path.c_str());
  }
  if (!s.ok()) {
    std::fprintf(stderr, "\nkvserve make-model: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s: %s, %s, %d layers, %.2f GB of tensors\n", opt.out.c_str(),
               hp.name.c_str(), (std::string(mix->name()) + (mix->pure() ? "" : " mix")).c_str(), hp.n_layers,
               total_bytes / 1e9);
  return 0;
}

}  // namespace

int RunMakeModel(int argc, char** argv) {
  Options opt;
  CLI::App app{"Write a random-weight GGUF at a real model's shapes", "kvserve make-model"};
  app.add_option("--shape", opt.shape, ModelShapeNames());
  app.add_option("--type", opt.type,
                 "weights as llama-quantize's mix of that name (Q2_K, Q3_K_S/M/L, Q4_K_S/M, "
                 "Q5_K_S/M, Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, IQ4_XS; Q3_K/Q4_K/Q5_K are "
                 "the _M mixes) or F32, F16, BF16");
  app.add_flag("--pure", opt.pure,
               "every matrix in --type's base type (as llama-quantize --pure): no bumps, no fallbacks");
  app.add_option("--vocab", opt.vocab_path,
                 "llama2.c tokenizer.bin, a GGUF file whose tokenizer is copied "
                 "(e.g. models/vocab/ggml-vocab-qwen2.gguf) or a Hugging Face tokenizer folder "
                 "(tokenizer.json, e.g. models/vocab/hf-qwen3)")
      ->required();
  app.add_option("--format", opt.format, "gguf (a file) or hf (a Hugging Face folder)")
      ->check(CLI::IsMember({"gguf", "hf"}));
  app.add_option("--chat-template", opt.chat_template_path,
                 "tokenizer.chat_template from a Jinja file or a Hugging Face "
                 "tokenizer_config.json (default: the vocabulary file's own)");
  app.add_option("-o,--output", opt.out, "output .gguf file (--format hf: a folder)")->required();
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
