// Each family's forward pass against llama.cpp on the same file: the small
// random-weight models `kvserve make-model` writes for llama (with Llama
// 3.1-style rope_freqs), qwen2 (Q/K/V biases, NeoX rotation) and qwen3
// (per-head Q/K norms, heads wider than dim / n_heads), in F32 and F16.
// llama.cpp's greedy continuations of three prompts, recorded by
// bench/families_reference.sh with each file's SHA-256, must come out token
// for token on both backends.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model.h"
#include "runtime/backend_runner.h"
#include "runtime/single_sequence.h"
#include "test_util.h"

namespace kvs {
namespace {

using testing::SharedPath;

std::string Sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof(b), "%02x", md[i]);
    hex += b;
  }
  return hex;
}

std::vector<TokenId> Greedy(const Model& model, const std::string& backend,
                            const std::vector<TokenId>& prompt, size_t n) {
  RunnerConfig rc;
  rc.backend = backend;
  rc.n_threads = 2;
  rc.max_kv_tokens = 256;
  auto runner = BackendRunner::Create(&model, rc);
  EXPECT_TRUE(runner.ok()) << runner.status().ToString();
  if (!runner.ok()) return {};
  SingleSequence seq(runner->get());
  std::vector<TokenId> out;
  auto logits = seq.Feed(prompt);
  while (logits.ok() && out.size() < n) {
    const float* l = *logits;
    TokenId best = 0;
    for (TokenId v = 1; v < model.config().n_vocab; ++v) {
      if (l[v] > l[best]) best = v;
    }
    out.push_back(best);
    logits = seq.Feed(std::span<const TokenId>(&best, 1));
  }
  EXPECT_TRUE(logits.ok()) << logits.status().ToString();
  return out;
}

class FamiliesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FamiliesTest, GreedyTokensEqualLlamaCpp) {
  const std::string name = GetParam();  // "test-qwen3-F16"
  const auto reference = nlohmann::json::parse(testing::ReadFile(
      std::string(KVS_SOURCE_DIR) + "/tests/data/families/llamacpp-greedy.json"));
  ASSERT_TRUE(reference.contains(name)) << name;
  const auto& want = reference[name];
  const size_t dash = name.rfind('-');
  const std::string path = std::string(KVS_BUILD_DIR) + "/families_test_" + name + ".gguf";
  const std::string cmd = testing::KvserveBinary() + " make-model --shape " +
                          name.substr(0, dash) + " --type " + name.substr(dash + 1) +
                          " --seed 1 --vocab " +
                          testing::Quote(SharedPath("models/" + want["vocab"].get<std::string>())) +
                          " -o " + testing::Quote(path);
  ASSERT_EQ(testing::RunCommand(cmd).exit_code, 0) << cmd;
  ASSERT_EQ(Sha256OfFile(path), want["sha256"].get<std::string>())
      << "make-model no longer writes the file llama.cpp's tokens were recorded from: "
         "run bench/families_reference.sh";
  auto model = Model::Load(path, "");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->config().arch, name.substr(5, 5));  // "llama", "qwen2", "qwen3"
  for (const auto& run : want["runs"]) {
    const auto prompt = run["prompt"].get<std::vector<TokenId>>();
    const auto tokens = run["tokens"].get<std::vector<TokenId>>();
    for (const char* backend : {"reference", "cpu"}) {
      EXPECT_EQ(Greedy(**model, backend, prompt, tokens.size()), tokens)
          << name << " on " << backend << ", prompt " << run["prompt"].dump();
    }
  }
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Llamacpp, FamiliesTest,
                         ::testing::Values("test-llama3-F32", "test-llama3-F16", "test-qwen2-F32",
                                           "test-qwen2-F16", "test-qwen3-F32", "test-qwen3-F16"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return s;
                         });

}  // namespace
}  // namespace kvs
