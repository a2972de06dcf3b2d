// Each family's forward pass against llama.cpp on the same file: the small
// random-weight models `kvserve make-model` writes for llama (with Llama
// 3.1-style rope_freqs), qwen2 (Q/K/V biases, NeoX rotation) and qwen3
// (per-head Q/K norms, heads wider than dim / n_heads), in F32 and F16, each
// with its family's real vocabulary (Llama 3's, Qwen2's). For three text
// prompts, bench/families_reference.sh recorded llama.cpp's prompt ids, its
// greedy continuation and that continuation's text, with each file's
// SHA-256: our tokenizer must give the same ids, both backends the same
// tokens and the detokenizer the same text.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "model/batch.h"
#include "model/model.h"
#include "runtime/backend_runner.h"
#include "runtime/single_sequence.h"
#include "tokenizer/detokenizer.h"
#include "test_util.h"

namespace kvs::families_test {
namespace {

using testing::Argmax;
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

std::unique_ptr<ModelRunner> Runner(const Model& model, const std::string& backend) {
  RunnerConfig rc;
  rc.backend = backend;
  rc.n_threads = 2;
  rc.max_kv_tokens = 256;
  auto runner = BackendRunner::Create(&model, rc);
  EXPECT_TRUE(runner.ok()) << runner.status().ToString();
  return runner.ok() ? std::move(*runner) : nullptr;
}

// Greedy decoding, one token per step: the path a served request takes.
std::vector<TokenId> Greedy(const Model& model, const std::string& backend,
                            const std::vector<TokenId>& prompt, size_t n) {
  auto runner = Runner(model, backend);
  if (runner == nullptr) return {};
  SingleSequence seq(runner.get());
  std::vector<TokenId> out;
  auto logits = seq.Feed(prompt);
  while (logits.ok() && out.size() < n) {
    out.push_back(Argmax(*logits, model.config().n_vocab));
    logits = seq.Feed(std::span<const TokenId>(&out.back(), 1));
  }
  EXPECT_TRUE(logits.ok()) << logits.status().ToString();
  return out;
}

// The tokens greedy decoding gives if it agrees with `tokens`, found in two
// forward passes: the prompt but its last token, then that token and
// tokens[0..n-2] with logits at every position: the argmax after prompt +
// tokens[0..i-1] in place of greedy step i. Greedy decoding yields `tokens`
// exactly when every one of those argmaxes is the recorded token, so
// comparing them checks what Greedy checks. For the scalar reference, whose
// every step reads every weight row once (dequantizing the 151936 x 256 F16
// output matrix per token), two passes instead of one per token; the cpu
// backend keeps the one-token steps (Greedy).
std::vector<TokenId> TeacherForced(const Model& model, const std::string& backend,
                                   const std::vector<TokenId>& prompt,
                                   const std::vector<TokenId>& tokens) {
  auto runner = Runner(model, backend);
  if (runner == nullptr || prompt.empty() || tokens.empty()) return {};
  std::vector<BlockId> table(runner->n_kv_blocks());
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<BlockId>(i);
  Batch batch;
  const int start = static_cast<int>(prompt.size()) - 1;
  if (start > 0) {
    batch.AddSequence(std::span(prompt).first(start), 0, table, /*want_logits=*/false);
    auto r = runner->Run(batch);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
  }
  std::vector<TokenId> fed = {prompt.back()};
  fed.insert(fed.end(), tokens.begin(), tokens.end() - 1);
  batch.Clear();
  batch.AddSequence(fed, start, table, /*want_logits=*/true, /*want_hidden=*/false,
                    /*all_logits=*/true);
  auto logits = runner->Run(batch);
  EXPECT_TRUE(logits.ok()) << logits.status().ToString();
  if (!logits.ok()) return {};
  EXPECT_EQ(batch.n_logit_rows(), static_cast<int64_t>(fed.size()));
  const int n_vocab = model.config().n_vocab;
  std::vector<TokenId> out;
  for (size_t row = 0; row < fed.size(); ++row) out.push_back(Argmax(*logits + row * n_vocab, n_vocab));
  return out;
}

// The recorded reference: tests/data/families/llamacpp-greedy.json, or the
// file KVS_FAMILIES_REFERENCE names (bench/families_reference.sh with
// full-size shapes writes one: the same comparison at real sizes).
std::string ReferencePath() {
  const char* env = std::getenv("KVS_FAMILIES_REFERENCE");
  return env != nullptr && *env != '\0'
             ? std::string(env)
             : std::string(KVS_SOURCE_DIR) + "/tests/data/families/llamacpp-greedy.json";
}

std::vector<std::string> ReferenceNames() {
  std::vector<std::string> names;
  // A named local: items() refers into the json, which a temporary in the
  // range-init would not outlive.
  const auto reference = nlohmann::json::parse(testing::ReadFile(ReferencePath()));
  for (const auto& [name, entry] : reference.items()) names.push_back(name);
  return names;
}

class FamiliesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FamiliesTest, GreedyTokensEqualLlamaCpp) {
  const std::string name = GetParam();  // "test-qwen3-F16"
  const auto reference = nlohmann::json::parse(testing::ReadFile(ReferencePath()));
  ASSERT_TRUE(reference.contains(name)) << name;
  const auto& want = reference[name];
  const std::string shape = want["shape"].get<std::string>();
  const std::string type = want["type"].get<std::string>();
  // "hf": llama.cpp ran `kvserve convert`'s GGUF of the folder; we run the folder.
  const bool folder = want.value("format", "gguf") == "hf";
  const std::string path = std::string(KVS_BUILD_DIR) + "/families_test_" + name + ".gguf";
  // The folder's name becomes the converted file's general.name: the same
  // name as bench/families_reference.sh gives it, so that the sha matches.
  const std::string dir = std::string(KVS_BUILD_DIR) + "/families_test_" + name + "/" + shape +
                          "-" + type + "-hf";
  std::string cmd = testing::KvserveBinary() + " make-model --shape " + shape + " --type " + type +
                    " --seed 1 --vocab " +
                    testing::Quote(SharedPath("models/" + want["vocab"].get<std::string>())) +
                    (folder ? " --format hf -o " + testing::Quote(dir) : " -o " + testing::Quote(path));
  if (folder) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
    cmd += " && " + testing::KvserveBinary() + " convert -q -i " + testing::Quote(dir) + " -o " +
           testing::Quote(path) + " --type " + type;
  }
  ASSERT_EQ(testing::RunCommand(cmd).exit_code, 0) << cmd;
  ASSERT_EQ(Sha256OfFile(path), want["sha256"].get<std::string>())
      << "make-model or convert no longer writes the file llama.cpp's tokens were recorded from: "
         "run bench/families_reference.sh";
  auto model = Model::Load(folder ? dir : path, "");
  std::remove(path.c_str());  // mapped: the bytes stay until the model goes
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->config().arch, want["arch"].get<std::string>());
  const Tokenizer& tok = (*model)->tokenizer();
  for (const auto& run : want["runs"]) {
    const std::string text = run["text"].get<std::string>();
    const auto prompt = run["prompt"].get<std::vector<TokenId>>();
    const auto tokens = run["tokens"].get<std::vector<TokenId>>();
    // The prompt goes through our tokenizer: llama.cpp's ids, BOS rule included.
    EXPECT_EQ(tok.EncodeWithSpecial(text, /*add_bos=*/true), prompt) << name << ": " << text;
    EXPECT_EQ(Greedy(**model, "cpu", prompt, tokens.size()), tokens)
        << name << " on cpu, prompt " << text;
    EXPECT_EQ(TeacherForced(**model, "reference", prompt, tokens), tokens)
        << name << " on reference, prompt " << text;
    // The text as streamed: llama.cpp's output went through JavaScript's
    // UTF-8 decoder, so a byte token that completes no character is U+FFFD
    // in both.
    IncrementalDetokenizer detok(&tok, /*prev_token=*/prompt.empty() ? -1 : prompt.back(), {});
    std::string text_out;
    for (TokenId id : tokens) text_out += detok.Add(id).text;
    text_out += detok.Flush();
    EXPECT_EQ(text_out, run["output"].get<std::string>()) << name;
  }
  if (folder) std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

INSTANTIATE_TEST_SUITE_P(Llamacpp, FamiliesTest, ::testing::ValuesIn(ReferenceNames()),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return s;
                         });

}  // namespace
}  // namespace kvs::families_test
