// Byte-level BPE models end to end: random-weight tiny-llama3 / tiny-qwen2
// files written by `kvserve make-model` with the real Llama 3 and Qwen2
// vocabularies. `kvserve generate` runs them; `kvserve serve` tokenizes with
// the file's tokenizer (/tokenize ids equal llama.cpp's from the vocabulary's
// test pairs), /detokenize gives the text back, and a completion stops at
// each family's end-of-generation tokens (forced with logit_bias) but not
// at an ordinary token.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace kvs::byte_bpe_e2e_test {
namespace {

using json = nlohmann::json;
using testing::KvserveBinary;
using testing::Quote;
using testing::RunCommand;

std::string Tmp(const std::string& tag) {
  return std::string(KVS_BUILD_DIR) + "/byte_bpe_e2e_" + tag + "_" + std::to_string(getpid());
}

struct Family {
  const char* shape;
  const char* vocab;
  std::vector<int> eog;   // tokens that must end a completion
  int ordinary;           // a token that must not
  std::string text;       // a llama.cpp test pair (ggml-vocab-*.gguf.inp/.out, no BOS)
  std::vector<int> ids;
};

class ByteBpeE2eTest : public ::testing::TestWithParam<Family> {
 protected:
  void SetUp() override {
    model_ = Tmp(std::string(GetParam().vocab)) + ".gguf";
    const std::string cmd = KvserveBinary() + " make-model --shape " + GetParam().shape +
                            " --type F16 --vocab " +
                            Quote(testing::SharedPath(std::string("models/vocab/ggml-vocab-") +
                                                      GetParam().vocab + ".gguf")) +
                            " -o " + Quote(model_) + " 2>&1";
    ASSERT_EQ(RunCommand(cmd).exit_code, 0) << cmd;
  }
  void TearDown() override { std::remove(model_.c_str()); }
  std::string model_;
};

TEST_P(ByteBpeE2eTest, GenerateRuns) {
  const auto r = RunCommand(KvserveBinary() + " generate -m " + Quote(model_) +
                            " -p 'Hello, world! 😀' -n 3 --temperature 0 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("Hello, world! 😀", 0), 0u) << r.out;  // the prompt is echoed
}

TEST_P(ByteBpeE2eTest, ServeTokenizesAndStopsAtEndOfGeneration) {
  const Family& f = GetParam();
  const std::string log = Tmp("serve") + ".log";
  // A shell script starts the server on a free port, runs the requests, and
  // stops it; each response is one line of JSON on stdout.
  json requests = json::array();
  requests.push_back({{"path", "/tokenize"}, {"body", {{"prompt", f.text}, {"add_special_tokens", false}}}});
  requests.push_back({{"path", "/detokenize"}, {"body", {{"tokens", f.ids}}}});
  for (int id : f.eog) {
    requests.push_back({{"path", "/v1/completions"},
                        {"body", {{"prompt", "Hi"}, {"max_tokens", 4}, {"temperature", 0},
                                  {"logit_bias", {{std::to_string(id), 100}}}}}});
  }
  requests.push_back({{"path", "/v1/completions"},
                      {"body", {{"prompt", "Hi"}, {"max_tokens", 4}, {"temperature", 0},
                                {"logit_bias", {{std::to_string(f.ordinary), 100}}}}}});
  std::string script = testing::ServeInBackground(model_, log);
  for (const json& r : requests) {
    script += "curl -s -H 'Content-Type: application/json' localhost:$port" +
              r["path"].get<std::string>() + " -d " + Quote(r["body"].dump()) + "; echo; ";
  }
  script += "kill $pid; wait $pid";
  const auto out = RunCommand("bash -c " + Quote(script));
  std::vector<json> responses;
  std::istringstream lines(out.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] == '{') responses.push_back(json::parse(line, nullptr, false));
  }
  ASSERT_EQ(responses.size(), requests.size()) << out.out << testing::ReadFile(log);
  EXPECT_EQ(responses[0]["tokens"], f.ids) << responses[0].dump();
  EXPECT_EQ(responses[1]["prompt"], f.text) << responses[1].dump();
  for (size_t i = 0; i < f.eog.size(); ++i) {
    const json& c = responses[2 + i];
    EXPECT_EQ(c["choices"][0]["finish_reason"], "stop") << f.eog[i] << ": " << c.dump();
    EXPECT_EQ(c["usage"]["completion_tokens"], 1) << f.eog[i] << ": " << c.dump();
    EXPECT_EQ(c["choices"][0]["text"], "") << c.dump();
  }
  const json& last = responses.back();
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length") << last.dump();
  std::remove(log.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Families, ByteBpeE2eTest,
    ::testing::Values(
        // <|end_of_text|> (eos), <|eot_id|>; "Hello" 9906.
        Family{"tiny-llama3", "llama-bpe", {128001, 128009}, 9906,
               "3333333", {8765, 8765, 18}},
        // <|endoftext|> (eos), <|im_end|>; "Hello" 9707.
        Family{"tiny-qwen2", "qwen2", {151643, 151645}, 9707,
               "3333333", {18, 18, 18, 18, 18, 18, 18}}),
    [](const ::testing::TestParamInfo<Family>& info) {
      return std::string(info.param.vocab) == "qwen2" ? "qwen2" : "llama3";
    });

}  // namespace
}  // namespace kvs::byte_bpe_e2e_test
