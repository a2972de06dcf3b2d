// Golden generation: kvserve reproduces llama2.c's run.c token for token and
// byte for byte on stories260K, from the llama2.c checkpoint, from the GGUF
// files llama.cpp wrote, and from the GGUF our own `convert` writes.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "model/model.h"
#include "runtime/backend_runner.h"
#include "runtime/single_sequence.h"
#include "test_util.h"

namespace kvs::golden_test {
namespace {

using testing::AllGoldens;
using testing::Golden;
using testing::SharedPath;

struct ModelCase {
  std::string name;
  std::string model;
  std::string tokenizer;
};

std::vector<ModelCase> ModelCases() {
  return {
      {"bin", SharedPath("models/stories260K.bin"), SharedPath("models/tok512.bin")},
      {"gguf_f32", SharedPath("models/stories260K-f32.gguf"), ""},
      {"gguf_f16", SharedPath("models/stories260K-f16.gguf"), ""},
  };
}

// Greedy ids through the library, prompt encoded by our tokenizer.
std::vector<TokenId> GreedyIds(const Model& model, const std::string& backend,
                               const std::vector<TokenId>& prompt, int n,
                               bool weights_in_place = false) {
  RunnerConfig rc;
  rc.backend = backend;
  rc.n_threads = 2;
  rc.weights_in_place = weights_in_place;
  auto runner = BackendRunner::Create(&model, rc);
  EXPECT_TRUE(runner.ok()) << runner.status().ToString();
  SingleSequence seq(runner->get());
  std::vector<TokenId> out;
  auto logits = seq.Feed(prompt);
  while (logits.ok() && static_cast<int>(out.size()) < n) {
    out.push_back(testing::Argmax(*logits, model.config().n_vocab));
    logits = seq.Feed(std::span<const TokenId>(&out.back(), 1));
  }
  EXPECT_TRUE(logits.ok()) << logits.status().ToString();
  return out;
}

class GoldenModelTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(GoldenModelTest, TokenizerAndGreedyIdsMatchRunC) {
  const ModelCase& mc = GetParam();
  auto model = Model::Load(mc.model, mc.tokenizer);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  for (const Golden& g : AllGoldens()) {
    std::vector<TokenId> prompt = (*model)->tokenizer().Encode(g.prompt, true);
    ASSERT_EQ(std::vector<int>(prompt.begin(), prompt.end()), g.prompt_ids) << g.name;
    for (const char* backend : {"reference", "cpu"}) {
      std::vector<TokenId> ids = GreedyIds(**model, backend, prompt, g.generated_ids.size());
      EXPECT_EQ(std::vector<int>(ids.begin(), ids.end()), g.generated_ids)
          << g.name << " on " << backend;
    }
    // The weights read from the file mapping, not copied (--weights-in-place).
    std::vector<TokenId> ids =
        GreedyIds(**model, "cpu", prompt, g.generated_ids.size(), /*weights_in_place=*/true);
    EXPECT_EQ(std::vector<int>(ids.begin(), ids.end()), g.generated_ids) << g.name << " in place";
  }
}

TEST_P(GoldenModelTest, GenerateCommandPrintsRunCTextByteForByte) {
  const ModelCase& mc = GetParam();
  for (const Golden& g : AllGoldens()) {
    std::ostringstream cmd;
    cmd << testing::KvserveBinary() << " generate -m " << mc.model
        << (mc.tokenizer.empty() ? "" : " --tokenizer " + mc.tokenizer) << " -p "
        << testing::Quote(g.prompt) << " -n " << g.generated_ids.size()
        << " --temperature 0 2>/dev/null";
    testing::CommandResult r = testing::RunCommand(cmd.str());
    EXPECT_EQ(r.exit_code, 0) << cmd.str();
    EXPECT_EQ(r.out, g.text) << g.name << " via " << mc.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenModelTest, ::testing::ValuesIn(ModelCases()),
                         [](const auto& info) { return info.param.name; });

// Our own converter's output must load and reproduce the goldens too.
TEST(GoldenConvertTest, ConvertedGgufReproducesGoldens) {
  const std::string out = std::string(KVS_BUILD_DIR) + "/golden_convert_test.gguf";
  const std::string cmd = testing::KvserveBinary() + " convert -i " +
                          SharedPath("models/stories260K.bin") + " --tokenizer " +
                          SharedPath("models/tok512.bin") + " -o " + out + " --type f32 2>&1";
  testing::CommandResult conv = testing::RunCommand(cmd);
  ASSERT_EQ(conv.exit_code, 0) << conv.out;
  auto model = Model::Load(out, "");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  for (const Golden& g : AllGoldens()) {
    std::vector<TokenId> prompt = (*model)->tokenizer().Encode(g.prompt, true);
    ASSERT_EQ(std::vector<int>(prompt.begin(), prompt.end()), g.prompt_ids);
    std::vector<TokenId> ids = GreedyIds(**model, "cpu", prompt, g.generated_ids.size());
    EXPECT_EQ(std::vector<int>(ids.begin(), ids.end()), g.generated_ids) << g.name;
  }
}

// The top-5 logits run.c printed at the first three steps.
TEST(GoldenLogitsTest, FirstStepsMatchRunCLogits) {
  auto model = Model::Load(SharedPath("models/stories260K.bin"),
                                SharedPath("models/tok512.bin"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  for (const Golden& g : AllGoldens()) {
    std::istringstream in(testing::ReadFile(SharedPath("golden/" + g.name + ".logits")));
    RunnerConfig rc;
    rc.backend = "reference";
    auto runner = BackendRunner::Create(model->get(), rc);
    ASSERT_TRUE(runner.ok());
    SingleSequence seq(runner->get());
    std::vector<TokenId> prompt(g.prompt_ids.begin(), g.prompt_ids.end());
    auto logits = seq.Feed(prompt);
    std::string line;
    int step = 0;
    while (std::getline(in, line) && !line.empty()) {
      ASSERT_TRUE(logits.ok());
      std::istringstream ls(line.substr(line.find("top5:") + 5));
      std::string pair;
      while (ls >> pair) {
        const int id = std::stoi(pair.substr(0, pair.find(':')));
        const float want = std::stof(pair.substr(pair.find(':') + 1));
        EXPECT_NEAR((*logits)[id], want, 1e-4) << g.name << " step " << step << " id " << id;
      }
      const TokenId next = g.generated_ids[step++];
      logits = seq.Feed(std::span<const TokenId>(&next, 1));
    }
    EXPECT_EQ(step, 3);
  }
}

}  // namespace
}  // namespace kvs::golden_test
