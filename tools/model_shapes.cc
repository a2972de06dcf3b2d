#include "tools/model_shapes.h"

#include <cmath>

namespace kvs::tools {
namespace {

ModelShape Shape(std::string name, std::string arch, int vocab, int dim, int hidden, int layers,
                 int heads, int kv_heads, int head_dim, int ctx, float rope_base, float eps,
                 bool tied, Llama3RopeScaling scaling = {}) {
  ModelShape s;
  s.name = std::move(name);
  ModelConfig& c = s.config;
  c.arch = std::move(arch);
  c.name = s.name + " shape (random)";
  c.n_vocab = vocab;
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.head_dim = head_dim > 0 ? head_dim : dim / heads;
  c.context_length = ctx;
  c.rope_freq_base = rope_base;
  c.norm_eps = eps;
  c.rope_style = c.arch == "llama" ? RopeStyle::kAdjacent : RopeStyle::kHalves;
  s.tied_output = tied;
  s.rope_scaling = scaling;
  return s;
}

}  // namespace

const std::vector<ModelShape>& ModelShapes() {
  // From each model's config.json on the Hugging Face hub.
  static const std::vector<ModelShape> kShapes = {
      Shape("tinyllama", "llama", 32000, 2048, 5632, 22, 32, 4, 0, 2048, 1e4f, 1e-5f, false),
      Shape("llama3.2-1b", "llama", 128256, 2048, 8192, 16, 32, 8, 0, 131072, 5e5f, 1e-5f, true,
            {32, 1, 4, 8192}),
      Shape("llama3.1-8b", "llama", 128256, 4096, 14336, 32, 32, 8, 0, 131072, 5e5f, 1e-5f,
            false, {8, 1, 4, 8192}),
      Shape("llama3-8b", "llama", 128256, 4096, 14336, 32, 32, 8, 0, 8192, 5e5f, 1e-5f, false),
      Shape("mistral-7b", "llama", 32768, 4096, 14336, 32, 32, 8, 0, 32768, 1e6f, 1e-5f, false),
      Shape("smollm2-360m", "llama", 49152, 960, 2560, 32, 15, 5, 0, 8192, 1e5f, 1e-5f, true),
      Shape("qwen2.5-0.5b", "qwen2", 151936, 896, 4864, 24, 14, 2, 0, 32768, 1e6f, 1e-6f, true),
      Shape("qwen2.5-7b", "qwen2", 152064, 3584, 18944, 28, 28, 4, 0, 32768, 1e6f, 1e-6f, false),
      Shape("qwen3-0.6b", "qwen3", 151936, 1024, 3072, 28, 16, 8, 128, 40960, 1e6f, 1e-6f, true),
      Shape("qwen3-8b", "qwen3", 151936, 4096, 12288, 36, 32, 8, 128, 40960, 1e6f, 1e-6f, false),
      // Small shapes of each family for tests (vocabulary from --vocab).
      // test-llama3 has llama3 rope scaling over a short original context,
      // so that its divisors span 1..8 at head_dim 32; test-qwen3's heads
      // are twice dim / n_heads wide, as Qwen3's are.
      Shape("test-llama3", "llama", 0, 256, 768, 2, 8, 4, 0, 2048, 5e5f, 1e-5f, false,
            {8, 1, 4, 64}),
      Shape("test-qwen2", "qwen2", 0, 256, 768, 2, 8, 4, 0, 2048, 1e6f, 1e-6f, true),
      Shape("test-qwen3", "qwen3", 0, 256, 768, 2, 8, 4, 64, 2048, 1e6f, 1e-6f, true),
      // Tiny ones: with a small vocabulary (tok512.bin) a whole F16 file
      // fits the fuzzer's 64 KiB inputs (make fuzz's seeds).
      Shape("tiny-llama3", "llama", 0, 32, 64, 1, 4, 2, 0, 128, 5e5f, 1e-5f, true, {8, 1, 4, 32}),
      Shape("tiny-qwen2", "qwen2", 0, 32, 64, 1, 4, 2, 0, 128, 1e6f, 1e-6f, true),
      Shape("tiny-qwen3", "qwen3", 0, 32, 64, 1, 4, 2, 16, 128, 1e6f, 1e-6f, true),
  };
  return kShapes;
}

const ModelShape* FindModelShape(std::string_view name) {
  for (const ModelShape& s : ModelShapes()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string ModelShapeNames() {
  std::string names;
  for (const ModelShape& s : ModelShapes()) names += (names.empty() ? "" : ", ") + s.name;
  return names;
}


}  // namespace kvs::tools
