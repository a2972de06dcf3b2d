// Hugging Face folders (config.json, safetensors, tokenizer.json) load and
// compute what transformers would: `kvserve make-model --format hf` writes a
// random-weight folder for each family (llama with Llama 3.1 rope scaling,
// qwen2 with Q/K/V biases, qwen3 with per-head Q/K norms) in F32, F16 and
// BF16; tests/hf_reference.py (numpy, Hugging Face's names, layout and
// rotate-half RoPE) gives the logits at every position, ours must agree.
// The same weights written as GGUF give bit-identical logits: the folder
// loads through the one GGUF path, Q/K permuted as llama.cpp's converter
// does.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "backend/cpu/isa.h"
#include "engine/engine_loop.h"
#include "model/model.h"
#include "runtime/backend_runner.h"
#include "runtime/single_sequence.h"
#include "test_util.h"

namespace kvs::hf_model_test {
namespace {

using testing::Quote;
using testing::RunCommand;
using testing::SharedPath;

struct Case {
  const char* shape;
  const char* type;
  const char* tokenizer;  // folder under models/vocab
};

std::string MakeModel(const Case& c, const std::string& format) {
  // ctest runs tests in parallel, each in its own process: the running
  // test's name keeps one test's files out of another's way.
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = std::string(info->test_suite_name()) + "." + info->name();
  for (char& ch : test) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  const std::string out = std::string(KVS_BUILD_DIR) + "/hf_model_test_" + test + "_" + c.shape + "-" + c.type +
                          (format == "hf" ? "-hf" : ".gguf");
  std::filesystem::remove_all(out);
  const std::string cmd = testing::KvserveBinary() + " make-model --shape " + c.shape +
                          " --type " + c.type + " --layers 2 --seed 3 --format " + format +
                          " --vocab " + Quote(SharedPath(std::string("models/vocab/") + c.tokenizer)) +
                          " -o " + Quote(out) + " 2>&1";
  const auto r = RunCommand(cmd);
  EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.out;
  return out;
}

// The CPU backend with float activations everywhere: vdpbf16ps and the AMX
// tiles round BF16 weights' activations to bf16 (as llama.cpp does), which
// these comparisons at 1e-5 are not about; those paths are checked below on
// their own.
std::string ExactCpu() { return cpu::IsaSupported(cpu::Isa::kAvx512) ? "cpu:avx2" : "cpu"; }

// Logits at every position, one token fed at a time (the decode path).
std::vector<std::vector<float>> OurLogits(const Model& model, const std::vector<TokenId>& ids,
                                          const std::string& backend = ExactCpu()) {
  RunnerConfig rc;
  rc.backend = backend;
  rc.n_threads = 2;
  rc.max_kv_tokens = 64;
  auto runner = BackendRunner::Create(&model, rc);
  EXPECT_TRUE(runner.ok()) << runner.status().ToString();
  std::vector<std::vector<float>> out;
  if (!runner.ok()) return out;
  SingleSequence seq(runner->get());
  for (TokenId id : ids) {
    auto logits = seq.Feed(std::span<const TokenId>(&id, 1));
    EXPECT_TRUE(logits.ok()) << logits.status().ToString();
    if (!logits.ok()) return out;
    out.emplace_back(*logits, *logits + model.config().n_vocab);
  }
  return out;
}

class HfModelTest : public ::testing::TestWithParam<Case> {};

TEST_P(HfModelTest, LogitsEqualTransformersAndTheGgufFile) {
  const Case c = GetParam();
  const std::string folder = MakeModel(c, "hf");
  const std::string gguf = MakeModel(c, "gguf");
  auto hf_model = Model::Load(folder, "");
  ASSERT_TRUE(hf_model.ok()) << hf_model.status().ToString();
  auto gguf_model = Model::Load(gguf, "");
  ASSERT_TRUE(gguf_model.ok()) << gguf_model.status().ToString();
  EXPECT_EQ((*hf_model)->config().arch, (*gguf_model)->config().arch);

  // The prompt through the folder's tokenizer.json.
  const std::vector<TokenId> ids =
      (*hf_model)->tokenizer().EncodeWithSpecial("The quick brown fox jumps over 13 lazy dogs!", true);
  ASSERT_GE(ids.size(), 8u);
  const auto ours = OurLogits(**hf_model, ids);
  ASSERT_EQ(ours.size(), ids.size());

  // Bit for bit the GGUF file's: same weights, same kernels.
  const auto from_gguf = OurLogits(**gguf_model, ids);
  ASSERT_EQ(from_gguf.size(), ids.size());
  for (size_t t = 0; t < ids.size(); ++t) {
    ASSERT_EQ(ours[t], from_gguf[t]) << c.shape << " " << c.type << " position " << t;
  }

  // transformers' arithmetic in float64 on the folder's own weights.
  std::string cmd = "/usr/bin/python3 " + Quote(std::string(KVS_SOURCE_DIR) + "/tests/hf_reference.py") +
                    " " + Quote(folder);
  for (TokenId id : ids) cmd += " " + std::to_string(id);
  const auto r = RunCommand(cmd);
  ASSERT_EQ(r.exit_code, 0) << cmd;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::vector<double>> want(ids.size());
  for (size_t t = 0; t < ids.size(); ++t) {
    ASSERT_TRUE(std::getline(lines, line)) << "reference stopped at position " << t;
    std::istringstream ls(line);
    for (double v; ls >> v;) want[t].push_back(v);
    ASSERT_EQ(want[t].size(), ours[t].size()) << "position " << t;
  }
  auto worst_error = [&](const std::vector<std::vector<float>>& got) {
    double worst = 0;
    for (size_t t = 0; t < ids.size(); ++t) {
      double scale = 0, err = 0;
      for (size_t v = 0; v < want[t].size(); ++v) {
        scale = std::max(scale, std::abs(want[t][v]));
        err = std::max(err, std::abs(want[t][v] - got[t][v]));
      }
      EXPECT_GT(scale, 0.0);
      worst = std::max(worst, err / scale);
    }
    return worst;
  };
  // The weights are the same numbers on both sides (F16/BF16 widened
  // exactly); what differs is float32 against float64 arithmetic (measured
  // ~3e-7). Q/K rows in the wrong order cost ~3e-3 here.
  const double worst = worst_error(ours);
  EXPECT_LT(worst, 1e-5) << c.shape << " " << c.type;
  std::printf("%s %s: %zu positions, max |logit error| / max |logit| = %.2e\n", c.shape, c.type,
              ids.size(), worst);
  // BF16 on the AMX tiles or vdpbf16ps, activations rounded to bf16 at
  // every MatMul: measured on the tiles 2.3e-3 (tiny-llama3) and 3.4e-3
  // (tiny-qwen3). The bound only
  // catches a broken path (a wrong panel or tile gives errors of order 1);
  // the kernel itself is held to the reference with the same rounded
  // activations at 1e-5 in backend_ops_test.
  for (auto [backend, isa] :
       {std::pair{"cpu:avx512-bf16dot", cpu::Isa::kAvx512}, std::pair{"cpu:amx", cpu::Isa::kAmx}}) {
    if (std::string(c.type) != "BF16" || !cpu::IsaSupported(isa) || !cpu::HasAvx512Bf16()) continue;
    const double rounded = worst_error(OurLogits(**hf_model, ids, backend));
    EXPECT_LT(rounded, 2e-2) << c.shape << " BF16 on " << backend;
    std::printf("%s BF16 on %s: max |logit error| / max |logit| = %.2e\n", c.shape, backend, rounded);
  }
  std::filesystem::remove_all(folder);
  std::filesystem::remove(gguf);
}

// /v1/embeddings' pooling through the engine (chunked prefill, next to a
// generation) equals numpy's final normed hidden states, mean or last.
TEST(HfEmbeddingTest, PooledHiddenStatesEqualTheReference) {
  const Case c{"tiny-qwen3", "F32", "hf-qwen3"};
  const std::string folder = MakeModel(c, "hf");
  auto model = Model::Load(folder, "");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<TokenId> ids = (*model)->tokenizer().Encode("Embeddings pool the last layer of 13 tokens", true);
  RunnerConfig rc;
  rc.backend = "cpu";
  rc.n_threads = 2;
  auto runner = BackendRunner::Create(model->get(), rc);
  ASSERT_TRUE(runner.ok());
  EngineConfig ec;
  ec.max_batched_tokens = 5;  // the prompt in chunks
  auto loop = EngineLoop::Create(std::move(runner).value(), &(*model)->tokenizer(), ec);
  ASSERT_TRUE(loop.ok());
  for (const char* pooling : {"mean", "last"}) {
    GenerationRequest r;
    r.prompt = ids;
    r.stop.max_tokens = 1;
    r.embedding = std::string(pooling) == "mean" ? Pooling::kMean : Pooling::kLast;
    GenerationRequest other;
    other.prompt = ids;
    other.stop.max_tokens = 4;
    other.sampling.temperature = 0;
    auto s = (*loop)->Submit(r);
    auto o = (*loop)->Submit(other);
    ASSERT_TRUE(s.ok() && o.ok());
    const StreamDelta d = (*s)->WaitAll();
    (*o)->WaitAll();
    std::string cmd = "/usr/bin/python3 " + Quote(std::string(KVS_SOURCE_DIR) + "/tests/hf_reference.py") +
                      " --embed " + pooling + " " + Quote(folder);
    for (TokenId id : ids) cmd += " " + std::to_string(id);
    const auto ref = RunCommand(cmd);
    ASSERT_EQ(ref.exit_code, 0) << cmd;
    std::istringstream ls(ref.out);
    std::vector<double> want;
    for (double v; ls >> v;) want.push_back(v);
    ASSERT_EQ(want.size(), d.embedding.size()) << pooling;
    double err = 0;
    for (size_t j = 0; j < want.size(); ++j) err = std::max(err, std::abs(want[j] - d.embedding[j]));
    EXPECT_LT(err, 1e-5) << pooling;  // unit vectors; float32 against float64
  }
  (*loop)->Shutdown();
  std::filesystem::remove_all(folder);
}

// `kvserve convert` from a folder: the GGUF it writes computes the same
// logits bit for bit (F32) and keeps the folder's tokenizer semantics (NFC,
// its end-of-generation set, "</s>" as text).
TEST(HfConvertTest, TheGgufKeepsLogitsAndTokenizer) {
  const Case c{"tiny-qwen3", "F32", "hf-qwen3"};
  const std::string folder = MakeModel(c, "hf");
  const std::string out = folder + ".gguf";
  std::ofstream(folder + "/generation_config.json")
      << R"({"do_sample": true, "temperature": 0.6, "top_p": 0.95, "top_k": 20,
             "eos_token_id": [151645, 151643]})";
  const std::string cmd = testing::KvserveBinary() + " convert -q -i " + Quote(folder) + " -o " +
                          Quote(out) + " --type f32";
  ASSERT_EQ(RunCommand(cmd).exit_code, 0) << cmd;
  auto a = Model::Load(folder, "");
  auto b = Model::Load(out, "");
  ASSERT_TRUE(a.ok() && b.ok());
  // generation_config.json's sampling values, in both.
  for (const Model* m : {a->get(), b->get()}) {
    const SamplingDefaults& d = m->sampling_defaults();
    EXPECT_FLOAT_EQ(d.temperature.value_or(-1), 0.6f);
    EXPECT_FLOAT_EQ(d.top_p.value_or(-1), 0.95f);
    EXPECT_EQ(d.top_k.value_or(-1), 20);
    EXPECT_FALSE(d.min_p.has_value());
  }
  const Tokenizer& ta = (*a)->tokenizer();
  const Tokenizer& tb = (*b)->tokenizer();
  for (const char* text : {"caf\x65\xCC\x81 a</s>b <|im_start|>user<|im_end|>", "plain text 123"}) {
    EXPECT_EQ(ta.EncodeWithSpecial(text, true), tb.EncodeWithSpecial(text, true)) << text;
  }
  for (TokenId id = 0; id < (*a)->config().n_vocab; ++id) {
    ASSERT_EQ(ta.IsEndOfGeneration(id), tb.IsEndOfGeneration(id)) << id;
  }
  const auto ids = ta.EncodeWithSpecial("Once upon a time", true);
  EXPECT_EQ(OurLogits(**a, ids), OurLogits(**b, ids));
  std::filesystem::remove_all(folder);
  std::filesystem::remove(out);
}

// `kvserve convert --type MIX` from a folder: the quantized file's logits
// are within the mix's error bound of the folder's (tests/quant_mixes_test.cc
// calibrates those bounds against llama.cpp's own files), for a Llama and a
// Qwen3 folder.
TEST(HfConvertTest, QuantizedConvertStaysWithinTheMixBound) {
  for (const Case& c : {Case{"test-llama3", "F32", "hf-llama3.1"}, Case{"test-qwen3", "F32", "hf-qwen3"}}) {
    const std::string folder = MakeModel(c, "hf");
    auto f32 = Model::Load(folder, "");
    ASSERT_TRUE(f32.ok()) << f32.status().ToString();
    const std::vector<TokenId> ids = (*f32)->tokenizer().Encode("Once upon a time, in a land far away", true);
    const auto want = OurLogits(**f32, ids);
    for (const auto& [mix, bound] : {std::pair{"Q8_0", 0.04}, std::pair{"Q4_K_M", 0.34}}) {
      const std::string out = folder + "-" + mix + ".gguf";
      const std::string cmd = testing::KvserveBinary() + " convert -q -i " + Quote(folder) + " -o " + Quote(out) +
                              " --type " + mix;
      ASSERT_EQ(RunCommand(cmd).exit_code, 0) << cmd;
      auto q = Model::Load(out, "");
      ASSERT_TRUE(q.ok()) << q.status().ToString();
      const auto got = OurLogits(**q, ids);
      ASSERT_EQ(got.size(), want.size());
      double num = 0, den = 0;
      for (size_t t = 0; t < want.size(); ++t) {
        for (size_t v = 0; v < want[t].size(); ++v) {
          const double e = double{got[t][v]} - want[t][v];
          num += e * e;
          den += double{want[t][v]} * want[t][v];
        }
      }
      const double rel_rms = std::sqrt(num / den);
      std::printf("%s %s: relative RMS error of the logits %.3g (bound %.2g)\n", c.shape, mix, rel_rms, bound);
      EXPECT_LE(rel_rms, bound) << c.shape << " " << mix;
      std::filesystem::remove(out);
    }
    std::filesystem::remove_all(folder);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Families, HfModelTest,
    ::testing::Values(Case{"tiny-llama3", "F32", "hf-llama3.1"}, Case{"tiny-llama3", "BF16", "hf-llama3.1"},
                      Case{"tiny-qwen2", "F32", "hf-qwen3"}, Case{"tiny-qwen2", "F16", "hf-qwen3"},
                      Case{"tiny-qwen3", "F32", "hf-qwen3"}, Case{"tiny-qwen3", "BF16", "hf-qwen3"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string s = std::string(info.param.shape) + "_" + info.param.type;
      for (char& ch : s) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return s;
    });

}  // namespace
}  // namespace kvs::hf_model_test
