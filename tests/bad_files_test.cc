// Bad model files as a user meets them: `kvserve generate`, `kvserve serve`
// and `kvserve inspect`-free paths on a file whose architecture, tensor type,
// tokenizer or chat template kvserve does not know exit with status 1 (not
// by a signal, not 0) and one error line on stderr that names the culprit.
// Each file is a valid tiny model (make-model's tiny-qwen2 shape) with one
// thing changed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "test_util.h"

namespace kvs::bad_files_test {
namespace {

using testing::KvserveBinary;
using testing::Quote;
using testing::RunCommand;

std::string Tmp(const std::string& tag) {
  return std::string(KVS_BUILD_DIR) + "/bad_files_test_" + tag + "_" + std::to_string(getpid()) +
         ".gguf";
}

// Copies `src` to a new file with `edit` applied to its metadata.
std::string Rewrite(const std::string& src, const std::string& tag,
                    const std::function<void(GgufWriter&)>& edit) {
  auto in = GgufFile::Open(src);
  EXPECT_TRUE(in.ok()) << in.status().ToString();
  if (!in.ok()) return "";
  GgufWriter w;
  for (const auto& [key, value] : (*in)->metadata()) w.SetValue(key, value);
  edit(w);
  for (const TensorInfo& t : (*in)->tensors()) EXPECT_TRUE(w.AddTensor(t.name, t.type, t.dims).ok());
  const std::string path = Tmp(tag);
  Status s = w.WriteFile(path, [&](size_t i, TensorSink& sink) {
    const TensorInfo& t = (*in)->tensors()[i];
    return sink.Write(t.data, t.n_bytes);
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return path;
}

// Each command on `model` exits with 1 and stderr names `culprit`.
void ExpectRefused(const std::string& model, const std::string& culprit,
                   const std::string& extra_serve_flags = "") {
  const std::string err = model + ".err";
  for (const std::string& cmd :
       {KvserveBinary() + " generate -m " + Quote(model) + " -p hi -n 2",
        KvserveBinary() + " serve -m " + Quote(model) + " --port 0 " + extra_serve_flags}) {
    // serve must not start: a bounded wait, killed (and failed) if it did.
    const auto r = RunCommand("timeout 20 " + cmd + " >/dev/null 2>" + Quote(err));
    const std::string stderr_text = testing::ReadFile(err);
    EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << stderr_text;
    EXPECT_NE(stderr_text.find(culprit), std::string::npos) << cmd << "\n" << stderr_text;
    EXPECT_EQ(stderr_text.find("Aborted"), std::string::npos) << stderr_text;
  }
  std::remove(err.c_str());
}

class BadFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = Tmp("base");
    const std::string cmd = KvserveBinary() + " make-model --shape tiny-qwen2 --type F16 --vocab " +
                            Quote(testing::SharedPath("models/tok512.bin")) + " -o " + Quote(base_) +
                            " 2>/dev/null";
    ASSERT_EQ(RunCommand(cmd).exit_code, 0) << cmd;
  }
  void TearDown() override {
    std::remove(base_.c_str());
    for (const std::string& f : made_) std::remove(f.c_str());
  }

  std::string Make(const std::string& tag, const std::function<void(GgufWriter&)>& edit) {
    made_.push_back(Rewrite(base_, tag, edit));
    return made_.back();
  }

  std::string base_;
  std::vector<std::string> made_;
};

TEST_F(BadFilesTest, TheUntouchedFileLoads) {
  const auto r = RunCommand(KvserveBinary() + " generate -m " + Quote(base_) +
                            " -p hi -n 2 --temperature 0 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(BadFilesTest, UnknownArchitectureIsNamed) {
  ExpectRefused(Make("arch", [](GgufWriter& w) { w.SetString("general.architecture", "mamba9"); }),
                "mamba9");
}

TEST_F(BadFilesTest, UnknownTokenizerModelIsNamed) {
  ExpectRefused(Make("tokmodel", [](GgufWriter& w) { w.SetString("tokenizer.ggml.model", "wordpiece9"); }),
                "wordpiece9");
}

TEST_F(BadFilesTest, UnknownPreTokenizerIsNamed) {
  ExpectRefused(Make("tokpre",
                     [](GgufWriter& w) {
                       w.SetString("tokenizer.ggml.model", "gpt2");
                       w.SetString("tokenizer.ggml.pre", "foo-bar9");
                       w.SetStringArray("tokenizer.ggml.merges", {"a b"});
                     }),
                "tokenizer.ggml.pre 'foo-bar9' is not supported");
}

TEST_F(BadFilesTest, ByteLevelVocabularyWithoutMergesIsNamed) {
  ExpectRefused(Make("tokmerges",
                     [](GgufWriter& w) {
                       w.SetString("tokenizer.ggml.model", "gpt2");
                       w.SetString("tokenizer.ggml.pre", "qwen2");
                     }),
                "tokenizer.ggml.merges");
}

TEST_F(BadFilesTest, OutOfRangeSamplingDefaultIsNamed) {
  ExpectRefused(Make("temp", [](GgufWriter& w) { w.SetF32("general.sampling.temp", -1.0f); }),
                "general.sampling.temp");
}

// Hugging Face folders: a valid tiny one (make-model --format hf), then one
// thing changed in config.json, tokenizer.json or the weights.
class BadFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(KVS_BUILD_DIR) + "/bad_folder_test_" + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    const std::string cmd = KvserveBinary() +
                            " make-model --shape tiny-qwen2 --type F16 --format hf --vocab " +
                            Quote(testing::SharedPath("models/vocab/hf-qwen3")) + " -o " +
                            Quote(dir_) + " 2>/dev/null";
    ASSERT_EQ(RunCommand(cmd).exit_code, 0) << cmd;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void EditJson(const std::string& file, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(testing::ReadFile(dir_ + "/" + file));
    edit(j);
    std::ofstream(dir_ + "/" + file) << j.dump();
  }

  std::string dir_;
};

TEST_F(BadFolderTest, TheUntouchedFolderLoads) {
  EXPECT_EQ(RunCommand(KvserveBinary() + " generate -m " + Quote(dir_) +
                       " -p hi -n 2 --temperature 0 2>/dev/null")
                .exit_code,
            0);
}

TEST_F(BadFolderTest, UnknownArchitectureIsNamed) {
  EditJson("config.json", [](nlohmann::json& c) { c["architectures"] = {"GPT2LMHeadModel"}; });
  ExpectRefused(dir_, "GPT2LMHeadModel");
}

TEST_F(BadFolderTest, MissingHyperparameterIsNamed) {
  EditJson("config.json", [](nlohmann::json& c) { c.erase("num_hidden_layers"); });
  ExpectRefused(dir_, "num_hidden_layers");
}

TEST_F(BadFolderTest, UnknownRopeScalingIsNamed) {
  EditJson("config.json", [](nlohmann::json& c) {
    c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  });
  ExpectRefused(dir_, "yarn");
}

TEST_F(BadFolderTest, UnknownTokenizerModelIsNamed) {
  EditJson("tokenizer.json", [](nlohmann::json& t) { t["model"]["type"] = "Unigram"; });
  ExpectRefused(dir_, "Unigram");
}

TEST_F(BadFolderTest, TruncatedWeightsAreNamed) {
  std::filesystem::resize_file(dir_ + "/model.safetensors",
                               std::filesystem::file_size(dir_ + "/model.safetensors") - 2);
  ExpectRefused(dir_, "model.safetensors");
}

TEST_F(BadFolderTest, MissingTensorIsNamed) {
  // A shard index that promises a tensor the shard lacks.
  nlohmann::json index = {{"metadata", nlohmann::json::object()},
                          {"weight_map",
                           {{"model.embed_tokens.weight", "model.safetensors"},
                            {"model.layers.0.mlp.gate_proj.weight", "model.safetensors"},
                            {"model.layers.0.self_attn.rotary.weight", "model.safetensors"}}}};
  std::ofstream(dir_ + "/model.safetensors.index.json") << index.dump();
  ExpectRefused(dir_, "model.layers.0.self_attn.rotary.weight");
}

TEST_F(BadFolderTest, NoConfigIsNamed) {
  std::filesystem::remove(dir_ + "/config.json");
  ExpectRefused(dir_, "config.json");
}

// A chat template outside our Jinja subset stops `serve` at startup, naming
// the construct and its line (generate does not render templates).
TEST_F(BadFilesTest, ChatTemplateOutsideTheSubsetIsNamedWhenServing) {
  const std::string model = Make("template", [](GgufWriter& w) {
    w.SetString("tokenizer.chat_template",
                "{% for m in messages %}\n{% call wrap() %}{{ m.content }}{% endcall %}{% endfor %}");
  });
  const std::string err = model + ".err";
  const auto r = RunCommand("timeout 20 " + KvserveBinary() + " serve -m " + Quote(model) +
                            " --port 0 >/dev/null 2>" + Quote(err));
  const std::string stderr_text = testing::ReadFile(err);
  EXPECT_EQ(r.exit_code, 1) << stderr_text;
  EXPECT_NE(stderr_text.find("template line 2: '{% call %}' is not supported"), std::string::npos)
      << stderr_text;
  std::remove(err.c_str());
}

}  // namespace
}  // namespace kvs::bad_files_test
