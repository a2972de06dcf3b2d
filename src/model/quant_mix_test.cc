// QuantMix against llama-quantize: the per-type tensor counts and chosen
// tensors below are what llama-quantize --dry-run printed for a TinyLlama
// shape file (22 layers, 32 heads over 4 KV heads, untied output) and for
// quant-test-f32.gguf (2 layers); bench/compare_quant_mix.sh re-checks
// whole files of several shapes against the tool itself.
#include "model/quant_mix.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace kvs {
namespace {

struct Tensor {
  std::string name;
  int n_dims;
  int64_t cols;
};

// make-model's tensors for a Llama shape, in file order.
std::vector<Tensor> LlamaTensors(int n_layers, int64_t dim, int64_t hidden, bool tied) {
  std::vector<Tensor> t = {{"token_embd.weight", 2, dim}};
  for (int l = 0; l < n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"}) {
      t.push_back({p + n + ".weight", 2, dim});
    }
    t.push_back({p + "ffn_down.weight", 2, hidden});
    t.push_back({p + "attn_norm.weight", 1, dim});
    t.push_back({p + "ffn_norm.weight", 1, dim});
  }
  t.push_back({"output_norm.weight", 1, dim});
  if (!tied) t.push_back({"output.weight", 2, dim});
  return t;
}

std::map<std::string, int> Counts(const QuantMix& mix, const MixModelShape& shape, const std::vector<Tensor>& ts) {
  std::map<std::string, int> counts;
  for (const Tensor& t : ts) ++counts[std::string(DTypeName(mix.TensorType(shape, t.name, t.n_dims, t.cols)))];
  return counts;
}

struct CountsCase {
  const char* mix;
  std::map<std::string, int> counts;  // llama-quantize --dry-run on tinyllama
};

TEST(QuantMixTest, TinyLlamaCountsEqualLlamaQuantize) {
  const MixModelShape shape{"llama", 22, 32, 4, false};
  const std::vector<Tensor> ts = LlamaTensors(22, 2048, 5632, false);
  const CountsCase cases[] = {
      {"Q2_K", {{"F32", 45}, {"Q2_K", 89}, {"Q3_K", 44}, {"Q4_K", 22}, {"Q6_K", 1}}},
      {"Q3_K_S", {{"F32", 45}, {"Q3_K", 155}, {"Q6_K", 1}}},
      {"Q3_K_M", {{"F32", 45}, {"Q3_K", 89}, {"Q4_K", 63}, {"Q5_K", 3}, {"Q6_K", 1}}},
      {"Q3_K_L", {{"F32", 45}, {"Q3_K", 89}, {"Q5_K", 66}, {"Q6_K", 1}}},
      {"Q4_K_S", {{"F32", 45}, {"Q4_K", 149}, {"Q5_K", 6}, {"Q6_K", 1}}},
      {"Q4_K_M", {{"F32", 45}, {"Q4_K", 135}, {"Q6_K", 21}}},
      {"Q5_K_S", {{"F32", 45}, {"Q5_K", 155}, {"Q6_K", 1}}},
      {"Q5_K_M", {{"F32", 45}, {"Q5_K", 135}, {"Q6_K", 21}}},
      {"Q6_K", {{"F32", 45}, {"Q6_K", 156}}},
      {"Q4_0", {{"F32", 45}, {"Q4_0", 155}, {"Q6_K", 1}}},
      {"Q4_1", {{"F32", 45}, {"Q4_1", 155}, {"Q6_K", 1}}},
      {"Q5_0", {{"F32", 45}, {"Q5_0", 155}, {"Q6_K", 1}}},
      {"Q5_1", {{"F32", 45}, {"Q5_1", 155}, {"Q6_K", 1}}},
      {"Q8_0", {{"F32", 45}, {"Q8_0", 156}}},
      {"IQ4_NL", {{"F32", 45}, {"IQ4_NL", 131}, {"Q5_K", 24}, {"Q6_K", 1}}},
      {"IQ4_XS", {{"F32", 45}, {"IQ4_XS", 131}, {"Q5_K", 24}, {"Q6_K", 1}}},
  };
  for (const CountsCase& c : cases) {
    const auto mix = QuantMix::FromName(c.mix);
    ASSERT_TRUE(mix.has_value()) << c.mix;
    EXPECT_EQ(Counts(*mix, shape, ts), c.counts) << c.mix;
  }
}

TEST(QuantMixTest, LayerBumpsFollowLlamaQuantize) {
  const MixModelShape shape{"llama", 22, 32, 4, false};
  auto type = [&](const char* mix, const std::string& name, int64_t cols = 2048) {
    return QuantMix::FromName(mix)->TensorType(shape, name, 2, cols);
  };
  EXPECT_EQ(type("Q3_K_M", "blk.0.attn_v.weight"), DType::kQ5_K);
  EXPECT_EQ(type("Q3_K_M", "blk.1.attn_v.weight"), DType::kQ5_K);
  EXPECT_EQ(type("Q3_K_M", "blk.2.attn_v.weight"), DType::kQ4_K);
  EXPECT_EQ(type("Q3_K_M", "blk.0.ffn_down.weight", 5632), DType::kQ5_K);
  EXPECT_EQ(type("Q3_K_M", "blk.1.ffn_down.weight", 5632), DType::kQ4_K);
  EXPECT_EQ(type("Q3_K_M", "blk.5.attn_output.weight"), DType::kQ4_K);
  EXPECT_EQ(type("Q3_K_M", "token_embd.weight"), DType::kQ3_K);
  // use_more_bits(i, 22): i < 2, i >= 19, (i - 2) % 3 == 2.
  for (int i = 0; i < 22; ++i) {
    const bool more = i < 2 || i >= 19 || (i - 2) % 3 == 2;
    EXPECT_EQ(UseMoreBits(i, 22), more) << i;
    EXPECT_EQ(type("Q4_K_M", "blk." + std::to_string(i) + ".ffn_down.weight", 5632),
              more ? DType::kQ6_K : DType::kQ4_K) << i;
  }
  EXPECT_EQ(type("Q2_K", "blk.3.attn_v.weight"), DType::kQ4_K);  // n_heads / n_kv_heads = 8 >= 4
  EXPECT_EQ(QuantMix::FromName("Q2_K")->TensorType({"llama", 22, 32, 16, false}, "blk.3.attn_v.weight", 2, 2048),
            DType::kQ3_K);
  EXPECT_EQ(type("Q8_0", "output.weight"), DType::kQ8_0);
  EXPECT_EQ(type("IQ4_XS", "output.weight"), DType::kQ6_K);
}

// quant-test-f32.gguf: 2 layers, 8 heads over 4 (llama-quantize --dry-run Q4_K_M).
TEST(QuantMixTest, TwoLayerModelEqualsLlamaQuantize) {
  const MixModelShape shape{"llama", 2, 8, 4, false};
  const QuantMix mix = *QuantMix::FromName("q4_k_m");
  EXPECT_EQ(mix.TensorType(shape, "output.weight", 2, 256), DType::kQ6_K);
  EXPECT_EQ(mix.TensorType(shape, "token_embd.weight", 2, 256), DType::kQ4_K);
  EXPECT_EQ(mix.TensorType(shape, "blk.0.attn_v.weight", 2, 256), DType::kQ4_K);
  EXPECT_EQ(mix.TensorType(shape, "blk.1.attn_v.weight", 2, 256), DType::kQ6_K);
  EXPECT_EQ(mix.TensorType(shape, "blk.0.ffn_down.weight", 2, 768), DType::kQ4_K);
  EXPECT_EQ(mix.TensorType(shape, "blk.1.ffn_down.weight", 2, 768), DType::kQ6_K);
  EXPECT_EQ(mix.TensorType(shape, "blk.1.ffn_norm.weight", 1, 256), DType::kF32);
}

// Rows that are not a multiple of 256 (Qwen2.5-0.5B's 896) or of 32.
TEST(QuantMixTest, FallbacksForRowLengths) {
  const MixModelShape qwen{"qwen2", 24, 14, 2, true};
  auto type = [&](const char* mix, const char* name, int64_t cols) {
    return QuantMix::FromName(mix)->TensorType(qwen, name, 2, cols);
  };
  EXPECT_EQ(type("Q4_K_M", "blk.3.attn_q.weight", 896), DType::kQ5_0);
  EXPECT_EQ(type("Q5_K_S", "blk.3.attn_q.weight", 896), DType::kQ5_1);
  EXPECT_EQ(type("Q6_K", "blk.3.attn_q.weight", 896), DType::kQ8_0);
  EXPECT_EQ(type("Q2_K", "blk.3.attn_q.weight", 896), DType::kQ4_0);
  EXPECT_EQ(type("Q3_K_S", "blk.3.attn_q.weight", 896), DType::kQ4_0);
  EXPECT_EQ(type("IQ4_XS", "blk.3.attn_q.weight", 896), DType::kIQ4_NL);
  EXPECT_EQ(type("Q4_K_M", "blk.3.ffn_down.weight", 4864), DType::kQ4_K);  // 4864 = 19 * 256
  // Tied output: token_embd takes the output's rule; 896 % 256 != 0: Q8_0.
  EXPECT_EQ(type("Q4_K_M", "token_embd.weight", 896), DType::kQ8_0);
  // Q4_0: 896 % 32 == 0 gives Q6_K, which then falls back to Q8_0.
  EXPECT_EQ(type("Q4_0", "token_embd.weight", 896), DType::kQ8_0);
  // Not a multiple of 32 either: F16.
  EXPECT_EQ(type("Q4_K_M", "blk.0.ffn_down.weight", 172), DType::kF16);
  EXPECT_EQ(type("Q4_0", "blk.0.ffn_down.weight", 172), DType::kF16);
}

TEST(QuantMixTest, NamesAliasesAndPure) {
  EXPECT_EQ(QuantMix::FromName("Q4_K")->name(), "Q4_K_M");
  EXPECT_EQ(QuantMix::FromName("q3_k")->name(), "Q3_K_M");
  EXPECT_EQ(QuantMix::FromName("Q5_K")->name(), "Q5_K_M");
  EXPECT_EQ(QuantMix::FromName("Q4_K_M")->llama_file_type(), 15u);
  EXPECT_EQ(QuantMix::FromName("IQ4_XS")->llama_file_type(), 30u);
  EXPECT_EQ(QuantMix::FromName("Q3_K_L")->base_type(), DType::kQ3_K);
  EXPECT_FALSE(QuantMix::FromName("Q4_K_X").has_value());
  EXPECT_FALSE(QuantMix::FromName("IQ2_XXS").has_value());
  EXPECT_TRUE(QuantMix::FromName("f16")->pure());
  const MixModelShape shape{"llama", 22, 32, 4, false};
  const QuantMix pure = QuantMix::FromName("Q4_K_M")->AsPure();
  EXPECT_EQ(pure.TensorType(shape, "output.weight", 2, 2048), DType::kQ4_K);
  EXPECT_EQ(pure.TensorType(shape, "blk.0.ffn_down.weight", 2, 5632), DType::kQ4_K);
  EXPECT_EQ(pure.llama_file_type(), 15u);
  EXPECT_EQ(QuantMix::Pure(DType::kQ4_0).llama_file_type(), 2u);
  EXPECT_EQ(QuantMix::Pure(DType::kQ6_K).llama_file_type(), 18u);
  EXPECT_EQ(QuantMix::Pure(DType::kIQ4_NL).llama_file_type(), 25u);
  EXPECT_EQ(QuantMix::Pure(DType::kQ3_K).llama_file_type(), 12u);
}

}  // namespace
}  // namespace kvs
